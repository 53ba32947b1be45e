package org.xformers4j.component.conformance;

/** Element-wise comparisons of outputs held as float arrays, shared by the checks. */
final class Values {

    private Values() {
    }

    /**
     * The largest {@code |actual - expected| / (1 + |expected|)} over the elements of two arrays of
     * equal length: 0 where both hold the same infinity (a masked bias entry), infinite where either
     * is NaN or only one is infinite.
     */
    static double maxRelativeError(float[] expected, float[] actual) {
        double worst = 0;
        for (int e = 0; e < expected.length; e++) {
            if (Float.isInfinite(expected[e]) && expected[e] == actual[e]) {
                continue;
            }
            double error = Math.abs((double) actual[e] - expected[e]) / (1 + Math.abs(expected[e]));
            worst = Double.isNaN(error) || Double.isInfinite(error) ? Double.POSITIVE_INFINITY : Math.max(worst, error);
        }
        return worst;
    }

    /**
     * The largest {@code |actual - reference| / (1 + |reference|)} over the elements of an output
     * and its float64 reference of equal length; infinite where {@code actual} is NaN or infinite.
     */
    static double maxRelativeError(float[] actual, double[] reference) {
        double worst = 0;
        for (int e = 0; e < actual.length; e++) {
            double error = Math.abs(actual[e] - reference[e]) / (1 + Math.abs(reference[e]));
            worst = Double.isFinite(error) ? Math.max(worst, error) : Double.POSITIVE_INFINITY;
        }
        return worst;
    }

    /**
     * The index of the first element that is NaN or infinite, or -1 when there is none; with
     * {@code negativeInfinityAllowed}, -∞ counts as finite (an attention bias masks with it).
     */
    static int firstNonFinite(float[] x, boolean negativeInfinityAllowed) {
        for (int e = 0; e < x.length; e++) {
            boolean masked = negativeInfinityAllowed && x[e] == Float.NEGATIVE_INFINITY;
            if (!masked && !Float.isFinite(x[e])) {
                return e;
            }
        }
        return -1;
    }
}
