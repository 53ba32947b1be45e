package org.xformers4j.component.conformance;

import java.util.SplittableRandom;
import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code reproducible}: two instances configured alike, given attention dropout {@value #DROPOUT}
 * drawn from generators with the same seed, produce identical outputs, and so does a second call
 * of the first; dropout must change the output (it is honoured, not ignored). A mechanism that
 * rejects attention dropout with {@link IllegalArgumentException} is checked without it.
 */
final class Reproducible implements AttentionCheck {

    static final float DROPOUT = 0.5f;

    @Override
    public String name() {
        return "reproducible";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return true;
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism first = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        AttentionMechanism second = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        Problem problem = Problem.random(Problem.Features.PLAIN, subject.capabilities(), SEED + 8);
        float[] withoutDropout = problem.forward(first);
        float[] a;
        try {
            a = problem.forward(first, DROPOUT, new SplittableRandom(SEED));
        } catch (IllegalArgumentException rejected) {
            return Verdict.within("rejects attention dropout (" + rejected.getMessage() + "); without it, two "
                    + "instances", problem.maxDifference(withoutDropout, problem.forward(second), (b, i) -> true), 0);
        }
        double instances = problem.maxDifference(a, problem.forward(second, DROPOUT, new SplittableRandom(SEED)),
                (b, i) -> true);
        double calls = problem.maxDifference(a, problem.forward(first, DROPOUT, new SplittableRandom(SEED)),
                (b, i) -> true);
        if (problem.maxDifference(a, withoutDropout, (b, i) -> true) == 0) {
            return Verdict.fail("attention dropout " + DROPOUT + " did not change the output: ignored, not rejected");
        }
        return Verdict.within("dropout " + DROPOUT + " with equal seeds, two instances and two calls",
                Math.max(instances, calls), 0);
    }
}
