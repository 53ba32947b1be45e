/** The pure-Java CPU backend: its thread pool, packed SIMD GEMM on the Vector API with a scalar fallback, and vectorised kernels. */
@Export
@Version("0.1.0")
package org.xformers4j.compute.cpu;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
