package org.xformers4j.component.conformance;

/** What one check concluded, before it is attributed to a component. */
record Verdict(boolean passed, String detail) {

    static Verdict pass(String detail) {
        return new Verdict(true, detail);
    }

    static Verdict fail(String detail) {
        return new Verdict(false, detail);
    }

    /** Passes when {@code difference <= tolerance}; the detail names {@code what} and both numbers. */
    static Verdict within(String what, double difference, double tolerance) {
        return new Verdict(difference <= tolerance, what + ": max |difference| " + number(difference)
                + (tolerance == 0 ? " (must be 0)" : " (tolerance " + number(tolerance) + ")"));
    }

    /** {@code x} with two significant digits, and 0 as {@code 0}. */
    static String number(double x) {
        return x == 0 ? "0" : String.format(java.util.Locale.ROOT, "%.2g", x);
    }
}
