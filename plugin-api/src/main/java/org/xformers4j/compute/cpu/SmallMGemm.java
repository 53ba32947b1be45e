package org.xformers4j.compute.cpu;

import java.util.List;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * SGEMM for a C of a few rows ({@code m <= SimdSgemm.SMALL_M}), without packing: a decoding step
 * multiplies one row per sequence by every weight matrix, and copying B into panels (what a
 * blocked GEMM amortises over many rows of A) would cost more than the product. op(B) is read where
 * it lies, in the direction its storage is contiguous:
 * <pre>
 *   transB (B stored [n, k], as a linear layer's weight W in x · Wᵀ): C(i, j) = A(i, :) · B(j, :),
 *       a dot product over k: VL lanes of partial sums, lane l over p ≡ l (mod VL) ascending,
 *       then the lanes added as a fixed tree ({@link #sumLanes}), then the tail
 *       p ≥ VL·⌊k / VL⌋ one fused multiply-add each; one row of A against 4 columns of op(B) at a time.
 *   !transB (B stored [k, n]): C(i, j..j+2VL) = Σ_p A(i, p) B(p, j..j+2VL), p ascending, one fused
 *       multiply-add per p; columns past the last whole vector the same way in scalar code.
 * </pre>
 * then C = α · acc + β · C (β = 0 overwrites without reading C). Threads split the columns of C;
 * every element is computed by one thread with the same operations wherever the split falls, so
 * results do not depend on the number of threads. A transposed A is gathered
 * into a per-call row-major copy of m · k floats first.
 */
final class SmallMGemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    /** Columns of op(B) per dot-product kernel call (transB). */
    private static final int DOT_COLUMNS = 4;
    /** Columns of C per kernel call (!transB): two vectors. */
    private static final int AXPY_COLUMNS = 2 * VL;
    /** Multiply-adds a thread's share must have before the columns are split between threads. */
    private static final long MIN_FMAS_PER_CHUNK = 1L << 14;
    /** The shuffles that bring lane i + h to lane i, for h = VL/2, VL/4, ..., 1. */
    private static final List<VectorShuffle<Float>> HALVES = IntStream.iterate(VL / 2, h -> h >= 1, h -> h / 2)
            .mapToObj(h -> VectorShuffle.fromOp(S, i -> (i + h) % VL)).toList();

    private SmallMGemm() {
    }

    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                     float beta, float[] c, int cOffset, int ldc, Parallel parallel) {
        float[] rows = a;
        int rowsOffset = aOffset;
        int rowStride = lda;
        if (transA) {
            rows = new float[m * k];
            for (int p = 0; p < k; p++) {
                for (int i = 0; i < m; i++) {
                    rows[i * k + p] = a[aOffset + p * lda + i];
                }
            }
            rowsOffset = 0;
            rowStride = k;
        }
        final float[] ar = rows;
        final int ao = rowsOffset;
        final int as = rowStride;
        int grain = (int) Math.max(1, MIN_FMAS_PER_CHUNK / Math.max(1L, (long) m * k));
        if (transB) {
            parallel.forRange(n, grain, (from, to) ->
                    dotColumns(m, k, alpha, ar, ao, as, b, bOffset, ldb, beta, c, cOffset, ldc, from, to));
        } else {
            parallel.forRange(n, grain, (from, to) ->
                    axpyColumns(m, k, alpha, ar, ao, as, b, bOffset, ldb, beta, c, cOffset, ldc, from, to));
        }
    }

    /** Columns [from, to) of C for B stored [n, k]. */
    private static void dotColumns(int m, int k, float alpha, float[] a, int aOffset, int lda,
                                   float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc,
                                   int from, int to) {
        int j = from;
        for (; j + DOT_COLUMNS <= to; j += DOT_COLUMNS) {
            for (int i = 0; i < m; i++) {
                dotFour(k, alpha, a, aOffset + i * lda, b, bOffset + j * ldb, ldb, beta, c, cOffset + i * ldc + j);
            }
        }
        for (; j < to; j++) {
            for (int i = 0; i < m; i++) {
                int ci = cOffset + i * ldc + j;
                c[ci] = update(dot(k, a, aOffset + i * lda, b, bOffset + j * ldb), alpha, beta, c[ci]);
            }
        }
    }

    /** C(i, j .. j+4) for the row of A at ai and the rows of B at b0, b0 + ldb, ..., written at ci. */
    private static void dotFour(int k, float alpha, float[] a, int ai, float[] b, int b0, int ldb, float beta,
                                float[] c, int ci) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        int b1 = b0 + ldb;
        int b2 = b1 + ldb;
        int b3 = b2 + ldb;
        int whole = k - k % VL;
        for (int p = 0; p < whole; p += VL) {
            FloatVector x = FloatVector.fromArray(S, a, ai + p);
            s0 = x.fma(FloatVector.fromArray(S, b, b0 + p), s0);
            s1 = x.fma(FloatVector.fromArray(S, b, b1 + p), s1);
            s2 = x.fma(FloatVector.fromArray(S, b, b2 + p), s2);
            s3 = x.fma(FloatVector.fromArray(S, b, b3 + p), s3);
        }
        c[ci] = update(tail(k, sumLanes(s0), a, ai, b, b0), alpha, beta, c[ci]);
        c[ci + 1] = update(tail(k, sumLanes(s1), a, ai, b, b1), alpha, beta, c[ci + 1]);
        c[ci + 2] = update(tail(k, sumLanes(s2), a, ai, b, b2), alpha, beta, c[ci + 2]);
        c[ci + 3] = update(tail(k, sumLanes(s3), a, ai, b, b3), alpha, beta, c[ci + 3]);
    }

    /** One column of {@link #dotFour}: the same operations. */
    private static float dot(int k, float[] a, int ai, float[] b, int bj) {
        FloatVector s = FloatVector.zero(S);
        int whole = k - k % VL;
        for (int p = 0; p < whole; p += VL) {
            s = FloatVector.fromArray(S, a, ai + p).fma(FloatVector.fromArray(S, b, bj + p), s);
        }
        return tail(k, sumLanes(s), a, ai, b, bj);
    }

    /**
     * Σ of the lanes as a fixed tree: lane i + h added to lane i for h = VL/2 down to 1. Compiled
     * and interpreted code add the same pairs, which {@code reduceLanes(ADD)} does not promise.
     */
    private static float sumLanes(FloatVector v) {
        for (VectorShuffle<Float> half : HALVES) {
            v = v.add(v.rearrange(half));
        }
        return v.lane(0);
    }

    /** {@code sum} plus the products of the tail of k past the whole vectors, one fused multiply-add each. */
    private static float tail(int k, float sum, float[] a, int ai, float[] b, int bj) {
        for (int p = k - k % VL; p < k; p++) {
            sum = Math.fma(a[ai + p], b[bj + p], sum);
        }
        return sum;
    }

    /** Columns [from, to) of C for B stored [k, n]. */
    private static void axpyColumns(int m, int k, float alpha, float[] a, int aOffset, int lda,
                                    float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc,
                                    int from, int to) {
        int j = from;
        for (; j + AXPY_COLUMNS <= to; j += AXPY_COLUMNS) {
            for (int i = 0; i < m; i++) {
                int ai = aOffset + i * lda;
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = FloatVector.zero(S);
                for (int p = 0, bp = bOffset + j; p < k; p++, bp += ldb) {
                    FloatVector x = FloatVector.broadcast(S, a[ai + p]);
                    s0 = FloatVector.fromArray(S, b, bp).fma(x, s0);
                    s1 = FloatVector.fromArray(S, b, bp + VL).fma(x, s1);
                }
                int ci = cOffset + i * ldc + j;
                FloatVector r0 = s0.mul(alpha);
                FloatVector r1 = s1.mul(alpha);
                if (beta != 0f) {
                    r0 = r0.add(FloatVector.fromArray(S, c, ci).mul(beta));
                    r1 = r1.add(FloatVector.fromArray(S, c, ci + VL).mul(beta));
                }
                r0.intoArray(c, ci);
                r1.intoArray(c, ci + VL);
            }
        }
        for (; j < to; j++) {
            for (int i = 0; i < m; i++) {
                int ai = aOffset + i * lda;
                float sum = 0f;
                for (int p = 0, bp = bOffset + j; p < k; p++, bp += ldb) {
                    sum = Math.fma(a[ai + p], b[bp], sum);
                }
                int ci = cOffset + i * ldc + j;
                c[ci] = update(sum, alpha, beta, c[ci]);
            }
        }
    }

    /** α · acc + β · C, rounded as the vector fold is: the product by α first, C unread when β = 0. */
    private static float update(float acc, float alpha, float beta, float c) {
        float x = acc * alpha;
        return beta != 0f ? x + c * beta : x;
    }
}
