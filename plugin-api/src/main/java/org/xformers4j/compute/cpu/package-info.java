/** The pure-Java CPU backend: its thread pool, packed SIMD GEMM on the Vector API with a scalar fallback, and vectorised kernels. Not exported: other bundles reach it through the {@link org.xformers4j.compute.ComputeBackend} contract (host arrays through {@link org.xformers4j.compute.Buffer#hostArray()}). */
package org.xformers4j.compute.cpu;
