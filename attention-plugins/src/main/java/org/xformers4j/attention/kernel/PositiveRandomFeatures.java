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
    private final double[] rows;
    private final int d;
    private final int m;

    /** @param projection W transposed and scaled by d^(-1/4), [d, m] row-major, as the mechanism keeps it */
    PositiveRandomFeatures(float[] projection, int d, int m) {
        this.projection = new double[d * m];
        this.rows = new double[m * d];
        for (int c = 0; c < d; c++) {
            for (int i = 0; i < m; i++) {
                this.projection[c * m + i] = projection[c * m + i];
                this.rows[i * d + c] = projection[c * m + i];
            }
        }
        this.d = d;
        this.m = m;
    }

    @Override
    public int size(int headDim) {
        return m;
    }

    /** The exponents a_i(x) into {@code pre}; returns the largest. */
    @Override
    public double prepare(double[] x, double[] pre) {
        Arrays.fill(pre, 0, m, 0);
        double squared = 0;
        for (int c = 0; c < d; c++) {
            squared += x[c] * x[c];
            KernelProduct.axpy(x[c], projection, c * m, pre, 0, m);
        }
        double half = squared / Math.sqrt(d) / 2;
        double peak = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < m; i++) {
            pre[i] -= half;
            peak = Math.max(peak, pre[i]);
        }
        return peak;
    }

    @Override
    public void features(double[] pre, double shift, double[] phi) {
        double scale = 1 / Math.sqrt(m);
        for (int i = 0; i < m; i++) {
            phi[i] = Math.exp(pre[i] - shift) * scale;
        }
    }

    /** dx = Σ_i (dphi_i · phi_i) ∂a_i/∂x: the projection of the exponents' gradient, minus x/sqrt(d) times its sum. */
    @Override
    public void backward(double[] x, double[] pre, double[] phi, double[] dphi, double[] dx) {
        double sum = 0;
        for (int i = 0; i < m; i++) {
            dphi[i] *= phi[i];                                   // now the exponents' gradient
            sum += dphi[i];
        }
        double norm = sum / Math.sqrt(d);
        for (int c = 0; c < d; c++) {
            dx[c] = -x[c] * norm;
        }
        for (int i = 0; i < m; i++) {
            KernelProduct.axpy(dphi[i], rows, i * d, dx, 0, d);
        }
    }
}
