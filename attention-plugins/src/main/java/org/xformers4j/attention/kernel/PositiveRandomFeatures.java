package org.xformers4j.attention.kernel;

import java.util.Arrays;

/**
 * FAVOR+'s positive random features (Choromanski et al., 2021, Lemma 1) as a row-wise
 * {@link FeatureMap}, for one draw of the random matrix:
 * <pre>
 *   a_i(x) = w_i · x' - |x'|² / 2,   x' = x · d^(-1/4)        (the exponents, i = 1 .. m)
 *   φ_i(x) = exp(a_i(x)) / sqrt(m)
 *   ∂a_i/∂x = w_i · d^(-1/4) - x / sqrt(d)
 * </pre>
 * The peak of a row is its largest exponent, so that φ(x)·e^{-shift} never exceeds 1/sqrt(m).
 * Exponents are computed in double precision from the matrix as the mechanism rounded it to float.
 */
final class PositiveRandomFeatures implements FeatureMap {

    /** [d, m], row-major: W transposed and scaled by d^(-1/4); and its transpose [m, d], W·d^(-1/4). */
    private final double[] projection;
    private final double[] transposed;
    private final int d;
    private final int m;

    /** @param projection W transposed and scaled by d^(-1/4), [d, m] row-major, as the mechanism keeps it */
    PositiveRandomFeatures(float[] projection, int d, int m) {
        this.projection = new double[d * m];
        this.transposed = new double[m * d];
        for (int c = 0; c < d; c++) {
            for (int i = 0; i < m; i++) {
                this.projection[c * m + i] = projection[c * m + i];
                this.transposed[i * d + c] = projection[c * m + i];
            }
        }
        this.d = d;
        this.m = m;
    }

    @Override
    public int size(int headDim) {
        return m;
    }

    /** The exponents a_i(x) of each row into its {@code pre}, and the largest into its peak. */
    @Override
    public void prepare(double[][] x, int rows, double[][] pre, double[] peaks) {
        for (int r = 0; r < rows; r++) {
            Arrays.fill(pre[r], 0, m, 0);
        }
        for (int c = 0; c < d; c++) {                   // row c of the projection, read once for the block
            for (int r = 0; r < rows; r++) {
                KernelProduct.axpy(x[r][c], projection, c * m, pre[r], 0, m);
            }
        }
        for (int r = 0; r < rows; r++) {
            double half = KernelProduct.dot(x[r], 0, x[r], 0, d) / Math.sqrt(d) / 2;
            double peak = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < m; i++) {
                pre[r][i] -= half;
                peak = Math.max(peak, pre[r][i]);
            }
            peaks[r] = peak;
        }
    }

    @Override
    public void features(double[] pre, double shift, double[] phi) {
        double scale = 1 / Math.sqrt(m);
        for (int i = 0; i < m; i++) {
            phi[i] = Math.exp(pre[i] - shift) * scale;
        }
    }

    /**
     * dx = Σ_i (dphi_i · phi_i) ∂a_i/∂x for each row: the projection of the exponents' gradient,
     * minus x/sqrt(d) times its sum.
     */
    @Override
    public void backward(double[][] x, double[][] pre, double[][] phi, double[][] dphi, double[][] dx, int from,
                         int count) {
        for (int r = from; r < from + count; r++) {
            double sum = 0;
            for (int i = 0; i < m; i++) {
                dphi[r][i] *= phi[r][i];                         // now the exponents' gradient
                sum += dphi[r][i];
            }
            double norm = sum / Math.sqrt(d);
            for (int c = 0; c < d; c++) {
                dx[r][c] = -x[r][c] * norm;
            }
        }
        for (int i = 0; i < m; i++) {                            // row i of the projection, read once for the block
            for (int r = from; r < from + count; r++) {
                KernelProduct.axpy(dphi[r][i], transposed, i * d, dx[r], 0, d);
            }
        }
    }
}
