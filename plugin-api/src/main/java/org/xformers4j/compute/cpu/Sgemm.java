package org.xformers4j.compute.cpu;

/**
 * Single-precision general matrix multiply on row-major arrays:
 * {@code C = alpha * op(A) * op(B) + beta * C} with {@code op(X) = X} or {@code X^T}.
 *
 * <p>Implementations are deterministic: the result depends neither on the number of threads of the
 * {@link Parallel} pool nor on how work is split between them.
 */
public interface Sgemm {

    /**
     * C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T. A is m×k (k×m if transA),
     * B is k×n (n×k if transB), C is m×n. lda/ldb/ldc are row strides. With {@code beta == 0} C is
     * overwritten and never read (NaNs in it do not propagate).
     *
     * @throws IllegalArgumentException for a negative size, a leading dimension smaller than its
     *     row, or an offset/leading dimension that would reach outside an array
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
              float beta, float[] c, int cOffset, int ldc, Parallel parallel);

    /** A short name for logs and benchmarks: {@code simd} or {@code scalar}. */
    String name();

    /**
     * The fastest kernel this JVM can run: {@link SimdSgemm} when the Vector API is usable
     * ({@link VectorApi}: the JVM has the module {@code jdk.incubator.vector} and this class can see
     * it), {@link ScalarSgemm} otherwise, a choice that logs one warning naming the fix.
     */
    static Sgemm best() {
        return GemmSupport.BEST;
    }

    /** The plain-Java kernel, available on every JVM. */
    static Sgemm scalar() {
        return ScalarSgemm.INSTANCE;
    }
}
