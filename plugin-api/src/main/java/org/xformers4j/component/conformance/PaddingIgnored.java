package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code padding-ignored}: changing the keys and values that the key padding mask marks as
 * padding changes no output. With a shared query-key projection the queries of those positions
 * change too, so their own outputs are not compared.
 */
final class PaddingIgnored implements AttentionCheck {

    private static final Problem.Features PADDED = new Problem.Features(false, true, false, false);

    @Override
    public String name() {
        return "padding-ignored";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().keyPaddingMask();
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        boolean shared = subject.capabilities().sharedQueryKey();
        Problem problem = Problem.random(PADDED, subject.capabilities(), SEED + 4);
        Problem changed = problem;
        for (int j = 0; j < problem.keyLength; j++) {
            if (problem.padded(1, j)) {
                changed = changed.withKeyChanged(1, j, false, SEED + 200 + j);
            }
        }
        double difference = problem.maxDifference(problem.forward(mechanism), changed.forward(mechanism),
                (b, i) -> !(shared && problem.padded(b, i)));
        return Verdict.within("changing the " + Problem.PADDED + " padded keys and values of batch element 1",
                difference, UNCHANGED);
    }
}
