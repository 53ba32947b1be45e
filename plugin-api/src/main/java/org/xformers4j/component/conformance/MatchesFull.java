package org.xformers4j.component.conformance;

import java.util.Map;
import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code matches-full}: the mechanism, in its exact configuration (its defaults when it is exact,
 * its {@code exactWhen} options otherwise), equals softmax attention computed in double precision
 * by {@link ReferenceAttention}, under plain, each declared context feature, and all of them
 * together. Each element must be within {@value #TOLERANCE}·(1 + |reference|): float32 rounding of
 * sums over 8 keys is about 1e-7.
 */
final class MatchesFull implements AttentionCheck {

    static final double TOLERANCE = 2e-5;

    @Override
    public String name() {
        return "matches-full";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.exactOptions().isPresent();
    }

    @Override
    public Verdict run(Subject subject) {
        Map<String, String> options = subject.exactOptions().orElseThrow();
        AttentionMechanism mechanism = subject.create(options, Problem.HEADS, Problem.HEAD_DIM);
        double worst = 0;
        String worstDetail = "";
        StringBuilder labels = new StringBuilder();
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            Problem problem = Problem.random(features, subject.capabilities().sharedQueryKey(), SEED);
            float[] actual = problem.forward(mechanism);
            double[] expected = problem.reference();
            if (actual.length != expected.length) {
                return Verdict.fail(features.label() + ": output has " + actual.length + " elements, expected "
                        + expected.length + " ([batch, heads, queryLength, valueDim])");
            }
            for (int e = 0; e < actual.length; e++) {
                double error = Math.abs(actual[e] - expected[e]) / (1 + Math.abs(expected[e]));
                if (!(error <= worst)) {
                    worst = Double.isNaN(error) ? Double.POSITIVE_INFINITY : error;
                    worstDetail = features.label() + ": element " + e + " is " + actual[e] + ", reference " + expected[e];
                }
            }
            labels.append(labels.isEmpty() ? "" : ", ").append(features.label());
        }
        String configuration = options.isEmpty() ? "" : " with " + options;
        String detail = "max relative error " + Verdict.number(worst) + " (tolerance " + Verdict.number(TOLERANCE)
                + ") against float64 softmax attention" + configuration + " over " + labels;
        return worst <= TOLERANCE ? Verdict.pass(detail) : Verdict.fail(detail + "; worst " + worstDetail);
    }
}
