package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code batch-independent}: under every declared context feature, changing every token of batch
 * element 1 changes no output of batch element 0.
 */
final class BatchIndependence implements AttentionCheck {

    @Override
    public String name() {
        return "batch-independent";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return true;
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        Problem problem = Problem.random(Problem.Features.all(subject.capabilities(), false), subject.capabilities(), SEED + 5);
        Problem changed = problem;
        for (int j = 0; j < problem.keyLength; j++) {
            changed = changed.withKeyChanged(1, j, true, SEED + 300 + j);
        }
        double difference = problem.maxDifference(problem.forward(mechanism), changed.forward(mechanism),
                (b, i) -> b == 0);
        return Verdict.within("changing batch element 1 under " + problem.features.label()
                + " and comparing batch element 0", difference, UNCHANGED);
    }
}
