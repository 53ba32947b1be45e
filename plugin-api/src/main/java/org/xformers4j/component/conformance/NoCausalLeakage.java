package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code causal-no-leakage}: with a causal context, changing the token at position t (its query,
 * key and value, in every batch element) changes no output at a position before t, for every t.
 */
final class NoCausalLeakage implements AttentionCheck {

    private static final Problem.Features CAUSAL = new Problem.Features(true, false, false, false);

    @Override
    public String name() {
        return "causal-no-leakage";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().causal();
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        Problem problem = Problem.random(CAUSAL, subject.capabilities(), SEED + 3);
        float[] before = problem.forward(mechanism);
        double worst = 0;
        int worstToken = -1;
        for (int t = 1; t < Problem.LENGTH; t++) {
            Problem changed = problem;
            for (int b = 0; b < Problem.BATCH; b++) {
                changed = changed.withKeyChanged(b, t, true, SEED + 100 + t);
            }
            int token = t;
            double difference = problem.maxDifference(before, changed.forward(mechanism), (b, i) -> i < token);
            if (difference > worst) {
                worst = difference;
                worstToken = t;
            }
        }
        Verdict verdict = Verdict.within("changing token t, for t = 1.." + (Problem.LENGTH - 1)
                + ", and comparing the outputs before t", worst, UNCHANGED);
        return verdict.passed() ? verdict : Verdict.fail(verdict.detail() + "; token " + worstToken + " leaks");
    }
}
