package org.xformers4j.attention.kernel;

/**
 * A kernel attention's feature map φ applied one row (one query or key vector) at a time, in
 * double precision, inside the fused {@link KernelProduct}, which never holds the features of more
 * than one row per head and recomputes them in the backward instead of storing them.
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
     * Prepares the row {@code x} (headDim values): writes what {@link #features} and
     * {@link #backward} need into {@code pre} ({@link #size} values) and returns the row's peak,
     * the largest exponent for an exponential map, 0 for any other.
     */
    double prepare(double[] x, double[] pre);

    /** φ(x)·e^{-shift} from what {@link #prepare} wrote, into {@code phi}; {@code shift} is finite. */
    void features(double[] pre, double shift, double[] phi);

    /**
     * The row's gradient {@code dx = (∂φ/∂x)ᵀ dphi} (d values into {@code dx}), given the row, what
     * {@link #prepare} wrote, and its features {@code phi} at the shift {@code dphi} refers to (the
     * shift treated as a constant). May overwrite {@code dphi}.
     */
    void backward(double[] x, double[] pre, double[] phi, double[] dphi, double[] dx);
}
