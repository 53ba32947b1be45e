package org.xformers4j.component.conformance;

/**
 * The worst relative error |actual − expected| / (1 + |expected|) of a mechanism's outputs against
 * a float64 reference over several labelled problems (a NaN counts as infinite), and the verdict
 * on it: what {@link MatchesFull} and {@link MatchesKernelDefinition} share.
 */
final class WorstError {

    private double worst;
    private String worstDetail = "";
    private final StringBuilder labels = new StringBuilder();

    /**
     * Adds one problem's output.
     *
     * @return null, or the failure to report when the output has the wrong number of elements
     */
    Verdict add(String label, float[] actual, double[] expected) {
        if (actual.length != expected.length) {
            return Verdict.fail(label + ": output has " + actual.length + " elements, expected "
                    + expected.length + " ([batch, heads, queryLength, valueDim])");
        }
        for (int e = 0; e < actual.length; e++) {
            double error = Math.abs(actual[e] - expected[e]) / (1 + Math.abs(expected[e]));
            if (!(error <= worst)) {
                worst = Double.isNaN(error) ? Double.POSITIVE_INFINITY : error;
                worstDetail = label + ": element " + e + " is " + actual[e] + ", reference " + expected[e];
            }
        }
        labels.append(labels.isEmpty() ? "" : ", ").append(label);
        return null;
    }

    /** Passes when the worst error is within {@code tolerance}; {@code against} names the reference. */
    Verdict verdict(double tolerance, String against) {
        String detail = "max relative error " + Verdict.number(worst) + " (tolerance " + Verdict.number(tolerance)
                + ") against " + against + " over " + labels;
        return worst <= tolerance ? Verdict.pass(detail) : Verdict.fail(detail + "; worst " + worstDetail);
    }
}
