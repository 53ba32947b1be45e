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
        WorstError errors = new WorstError();
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            Problem problem = Problem.random(features, subject.capabilities(), SEED);
            float[] actual = problem.forward(mechanism);
            double[] expected = problem.reference();
            Verdict wrongShape = errors.add(features.label(), actual, expected);
            if (wrongShape != null) {
                return wrongShape;
            }
        }
        String configuration = options.isEmpty() ? "" : " with " + options;
        return errors.verdict(TOLERANCE, "float64 softmax attention" + configuration);
    }
}
