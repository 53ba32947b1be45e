package org.xformers4j.compute.cpu;

import java.util.Objects;

/** Kernel selection and argument checks shared by the {@link Sgemm} implementations. */
final class GemmSupport {

    static final String SIMD_CLASS = "org.xformers4j.compute.cpu.SimdSgemm";

    static final Sgemm BEST = VectorApi.kernel(SIMD_CLASS, Sgemm.class).orElse(ScalarSgemm.INSTANCE);

    private GemmSupport() {
    }

    /** The SIMD kernel, or null without the Vector API ({@link VectorApi}). */
    static Sgemm simdOrNull() {
        return VectorApi.kernel(SIMD_CLASS, Sgemm.class).orElse(null);
    }

    /**
     * Validates {@link Sgemm#gemm} arguments (messages name the parameter and its value) and
     * finishes the calls with no product to compute: empty C, k == 0 or alpha == 0 (C = beta C).
     * Returns true when C is final.
     */
    static boolean checkOrFinishTrivial(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                                        float beta, float[] c, int cOffset, int ldc, Parallel parallel) {
        Objects.requireNonNull(parallel, "parallel");
        if (m < 0) {
            throw new IllegalArgumentException("m must be non-negative, got " + m);
        }
        if (n < 0) {
            throw new IllegalArgumentException("n must be non-negative, got " + n);
        }
        if (k < 0) {
            throw new IllegalArgumentException("k must be non-negative, got " + k);
        }
        // A is rowsA x colsA stored with stride lda
        checkMatrix("a", a, aOffset, "lda", lda, transA ? k : m, transA ? m : k, "A" + (transA ? "^T" : ""));
        checkMatrix("b", b, bOffset, "ldb", ldb, transB ? n : k, transB ? k : n, "B" + (transB ? "^T" : ""));
        checkMatrix("c", c, cOffset, "ldc", ldc, m, n, "C");
        if (m == 0 || n == 0) {
            return true;
        }
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, cOffset, ldc);
            return true;
        }
        return false;
    }

    private static void checkMatrix(String name, float[] x, int off, String ldName, int ld,
                                    int rows, int cols, String what) {
        Objects.requireNonNull(x, name);
        if (off < 0) {
            throw new IllegalArgumentException(name + "Offset must be non-negative, got " + off);
        }
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(ldName + " must be at least max(1, " + cols
                    + ") (the row length of " + what + " stored " + rows + "x" + cols + "), got " + ld);
        }
        if (rows == 0 || cols == 0) {
            if (off > x.length) {
                throw new IllegalArgumentException(name + "Offset " + off + " is past the end of "
                        + name + " (length " + x.length + ")");
            }
            return;
        }
        long last = (long) off + (long) (rows - 1) * ld + cols; // exclusive end
        if (last > x.length) {
            throw new IllegalArgumentException(name + "Offset " + off + " with " + ldName + " " + ld
                    + " reads " + rows + "x" + cols + " elements up to index " + (last - 1) + " but "
                    + name + " has length " + x.length);
        }
    }

    /** C[m x n] = beta * C for the k == 0 or alpha == 0 cases; beta == 0 overwrites. */
    private static void scaleC(int m, int n, float beta, float[] c, int cOffset, int ldc) {
        if (beta == 1f) {
            return;
        }
        for (int i = 0; i < m; i++) {
            int row = cOffset + i * ldc;
            if (beta == 0f) {
                java.util.Arrays.fill(c, row, row + n, 0f);
            } else {
                for (int j = 0; j < n; j++) {
                    c[row + j] *= beta;
                }
            }
        }
    }
}
