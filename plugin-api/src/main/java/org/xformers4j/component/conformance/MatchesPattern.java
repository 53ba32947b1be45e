package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.tensor.Tensor;

/**
 * {@code matches-pattern}: a mechanism that declares its pattern ({@link PatternedAttention}), with
 * its default hyperparameters, equals softmax attention computed in double precision by
 * {@link ReferenceAttention} over the pairs {@link AttentionPattern#allows} allows, with the
 * pattern's bias added to their scores, under plain, each declared context feature and all of them
 * together (the pattern asked for in each context). Each element must be within
 * {@value #TOLERANCE}·(1 + |reference|), as in {@code matches-full}; the detail gives the
 * fraction of pairs the pattern allows (below 1: the check saw a sparse pattern).
 */
final class MatchesPattern implements AttentionCheck {

    static final double TOLERANCE = 2e-5;

    @Override
    public String name() {
        return "matches-pattern";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.create(Problem.HEADS, Problem.HEAD_DIM) instanceof PatternedAttention;
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        PatternedAttention patterned = (PatternedAttention) mechanism;
        WorstError errors = new WorstError();
        double minDensity = 1;
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            Problem problem = Problem.random(features, subject.capabilities(), SEED + 29);
            Tensor bias = problem.bias == null ? null : Tensor.of(problem.bias, problem.biasShape());
            AttentionPattern pattern = patterned.pattern(Problem.HEADS, problem.queryLength, problem.keyLength,
                    problem.context(bias));
            minDensity = Math.min(minDensity, pattern.density());
            Verdict wrongShape = errors.add(features.label(), problem.forward(mechanism), problem.reference(pattern));
            if (wrongShape != null) {
                return wrongShape;
            }
        }
        return errors.verdict(TOLERANCE, "float64 softmax attention over the pattern (density down to "
                + Verdict.number(minDensity) + ")");
    }
}
