package org.xformers4j.compute.cpu;

/**
 * The child JVM of {@link VectorApiTest}: creates two CPU backends as {@code ServiceLoader} and
 * Declarative Services do, and prints each one's {@code description()} (which names its GEMM kernel).
 */
final class TwoCpuBackends {

    private TwoCpuBackends() {
    }

    public static void main(String[] args) {
        System.out.println(new CpuBackend().description());
        System.out.println(new CpuBackend().description());
    }
}
