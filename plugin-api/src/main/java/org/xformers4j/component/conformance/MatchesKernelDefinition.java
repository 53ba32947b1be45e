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
        WorstError errors = new WorstError();
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            if (features.bias()) {
                features = new Problem.Features(features.causal(), features.padded(), false, features.cross());
            }
            Problem problem = Problem.random(features, subject.capabilities(), SEED + 13);
            float[] actual = problem.forward(mechanism);
            double[] expected = problem.kernelReference(map);
            Verdict wrongShape = errors.add(features.label(), actual, expected);
            if (wrongShape != null) {
                return wrongShape;
            }
        }
        return errors.verdict(TOLERANCE, "float64 kernel attention with its own feature map");
    }
}
