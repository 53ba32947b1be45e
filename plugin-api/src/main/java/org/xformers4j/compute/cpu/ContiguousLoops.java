package org.xformers4j.compute.cpu;

import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.UnaryOp;

/**
 * The innermost loops of the elementwise and reduction kernels, over contiguous ranges of arrays:
 * {@link ScalarLoops} in plain Java, {@link SimdLoops} with {@code jdk.incubator.vector}. The two
 * agree up to float rounding (the SIMD exp and erfc are float polynomials, the scalar ones double).
 *
 * <p>Kernels split elementwise work at multiples of {@link #BLOCK}, so a SIMD loop's scalar tail
 * always falls on the same elements and results do not depend on the number of threads.
 */
interface ContiguousLoops {

    /** Work is split between threads only at multiples of this many elements (a multiple of every vector length). */
    int BLOCK = 64;

    /** y[i] = op(x[i]; p) for i in [from, to); y may be x. */
    void unary(UnaryOp op, float p, float[] x, float[] y, int from, int to);

    /** dx[i] = dy[i] · op'(x[i]) for i in [from, to), given the forward output y; dx may be dy. */
    void unaryBackward(UnaryOp op, float p, float[] x, float[] y, float[] dy, float[] dx, int from, int to);

    /**
     * out[outOffset + i] = op(a[aOffset + i·aStep], b[bOffset + i·bStep]) for i in [0, n); a step of 0
     * broadcasts one element. out may coincide with a or b when the offsets match and the step is 1.
     */
    void binary(BinaryOp op, float[] a, int aOffset, int aStep, float[] b, int bOffset, int bStep,
                float[] out, int outOffset, int n);

    /** y[i] += alpha · x[i] for i in [from, to). */
    void axpy(float alpha, float[] x, float[] y, int from, int to);

    /**
     * Inverted dropout of {@link org.xformers4j.compute.ComputeBackend#dropout} for i in [from, to):
     * y[i] = r_i >>> 8 &lt; threshold ? 0 : x[i] · keep, r_i the unsigned {@link ScalarLoops#mix32} of
     * state + (i + 1) · γ; y may be x.
     */
    void dropout(long state, long threshold, float keep, float[] x, float[] y, int from, int to);

    /** Σ x[offset + i] for i in [0, n). */
    float sum(float[] x, int offset, int n);

    /** max x[offset + i] for i in [0, n) (NaN if any is NaN; -∞ when n is 0). */
    float max(float[] x, int offset, int n);

    /**
     * Σ e^(x[offset + i] - shift) for i in [0, n); when {@code y} is non-null the terms are also
     * written to y at the same positions. For a shift of at least max x (a softmax's row maximum,
     * as every caller has): a term under e^-88 may be computed as 0.
     */
    float expSum(float[] x, int offset, int n, float shift, float[] y);

    /** Σ a[offset + i] · b[offset + i] for i in [0, n). */
    float dot(float[] a, float[] b, int offset, int n);

    /**
     * Layer norm of row {@code row} of x [rows, dim] into y (Ba et al., 2016): y = (x - mean) · rstd ·
     * gamma + beta with rstd = 1 / sqrt(var + eps), var the row's biased variance; gamma and beta
     * ([dim]) may be null. Stores the row's mean and rstd in mean[row] and rstd[row].
     */
    void layerNormRow(float[] x, int row, int dim, float[] gamma, float[] beta, float eps, float[] y,
                      float[] mean, float[] rstd);

    /**
     * dx of {@link #layerNormRow} for row {@code row}, with norm = (x - mean) · rstd and dnorm = dy · gamma:
     * dx = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)).
     */
    void layerNormBackwardRow(float[] x, float[] dy, int row, int dim, float[] gamma, float mean, float rstd,
                              float[] dx);

    /** {@link SimdLoops} when the Vector API is usable ({@link VectorApi}), {@link ScalarLoops} otherwise. */
    static ContiguousLoops best() {
        return Holder.BEST;
    }

    /** Holds the kernel, chosen when first asked for ({@link VectorApi}). */
    final class Holder {
        static final ContiguousLoops BEST = VectorApi.kernel("org.xformers4j.compute.cpu.SimdLoops", ContiguousLoops.class)
                .orElse(ScalarLoops.INSTANCE);

        private Holder() {
        }
    }
}
