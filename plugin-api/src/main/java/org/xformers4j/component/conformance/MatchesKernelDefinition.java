package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.KernelFeatureMap;

/**
 * {@code matches-kernel-definition}: a mechanism that declares a {@link KernelFeatureMap} equals
 * its own definition, kernel attention computed in double precision on the explicit N×N kernel
 * matrix by {@link KernelReference}, under plain, each declared context feature (the bias aside:
 * a kernel has no scores to add it to), and all of them together. Each element must be within
 * {@value #TOLERANCE}·(1 + |reference|), as in {@code matches-full}.
 */
final class MatchesKernelDefinition implements AttentionCheck {

    static final double TOLERANCE = 2e-5;

    @Override
    public String name() {
        return "matches-kernel-definition";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.featureMap().isPresent() && !subject.capabilities().sharedQueryKey();
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        KernelFeatureMap map = (KernelFeatureMap) mechanism;
        double worst = 0;
        String worstDetail = "";
        StringBuilder labels = new StringBuilder();
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            if (features.bias()) {
                features = new Problem.Features(features.causal(), features.padded(), false, features.cross());
            }
            Problem problem = Problem.random(features, false, SEED + 13);
            float[] actual = problem.forward(mechanism);
            double[] expected = problem.kernelReference(map);
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
        String detail = "max relative error " + Verdict.number(worst) + " (tolerance " + Verdict.number(TOLERANCE)
                + ") against float64 kernel attention with its own feature map over " + labels;
        return worst <= TOLERANCE ? Verdict.pass(detail) : Verdict.fail(detail + "; worst " + worstDetail);
    }
}
