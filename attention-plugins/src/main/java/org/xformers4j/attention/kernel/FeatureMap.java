package org.xformers4j.attention.kernel;

/**
 * A kernel attention's feature map φ applied one row (one query or key vector) at a time, in
 * double precision, inside the fused {@link KernelProduct}, which never holds the features of more
 * than a block of rows per head and recomputes them in the backward instead of storing them.
 *
 * <p><b>Stabiliser.</b> An exponential map (φ_f(x) = exp(a_f(x)), as FAVOR+'s positive random
 * features) reports each row's peak, the largest exponent a_f(x); the product then computes
 * φ(x)·e^{-shift} with a shift at least as large as the peaks it has seen, so that no feature
 * exceeds 1 and nothing overflows. A shift is constant over the keys a query sees and over the
 * features of one query, so it cancels between the numerator and the denominator of the output
 * (up to {@code eps}) and takes no gradient. A map that cannot overflow reports a peak of 0 and is
 * never shifted.
 */
interface FeatureMap {

    /** The number F of features of a row of {@code headDim} elements. */
    int size(int headDim);

    /**
     * Prepares the rows {@code x[0 .. rows)} (headDim values each): writes what {@link #features}
     * and {@link #backward} need for row r into {@code pre[r]} ({@link #size} values) and its peak,
     * the largest exponent for an exponential map, 0 for any other, into {@code peaks[r]}. Rows
     * come a block at a time so that a map with a large parameter (a projection) reads it once per
     * block rather than once per row.
     */
    void prepare(double[][] x, int rows, double[][] pre, double[] peaks);

    /** φ(x)·e^{-shift} from what {@link #prepare} wrote, into {@code phi}; {@code shift} is finite. */
    void features(double[] pre, double shift, double[] phi);

    /**
     * The gradients of rows {@code from .. from + rows - 1}: {@code dx[r] = (∂φ/∂x)ᵀ dphi[r]}
     * (headDim values), given each row {@code x[r]}, what {@link #prepare} wrote for it and its
     * features {@code phi[r]} at the shift {@code dphi[r]} refers to (the shift treated as a
     * constant). May overwrite {@code dphi}. A block at a time, as {@link #prepare}.
     */
    void backward(double[][] x, double[][] pre, double[][] phi, double[][] dphi, double[][] dx, int from, int rows);
}
