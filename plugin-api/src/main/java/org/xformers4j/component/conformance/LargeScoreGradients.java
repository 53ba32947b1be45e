package org.xformers4j.component.conformance;

import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.GradientCheck;

/**
 * {@code large-score-gradients}: the forward and backward stay exact when the scores are huge
 * ({@value #MAGNITUDE} in magnitude, where float32 values are {@value #SPACING} apart), as they are
 * under a large additive bias. The bias is {@code -MAGNITUDE - SPACING·u} with u drawn from
 * {0, 1}, so each query's largest score is usually shared by several keys (a row sum well above 1),
 * and the queries and keys are scaled down by {@value #QUERY_KEY_FACTOR}, so their term is far
 * below the float32 spacing and the float32 scores equal the float64 ones to 1e-6 relative. Under
 * every declared context feature, in the exact configuration, the gradients of queries, keys,
 * values and bias are checked against finite differences of {@link ReferenceAttention} in double
 * precision, as {@code gradient-inputs} does. A backward that recomputes the weights from one
 * float32 log-sum-exp per query loses the row sum there ({@code -1e8 + ln 3} rounds to -1e8) and
 * fails.
 */
final class LargeScoreGradients implements AttentionCheck {

    static final float MAGNITUDE = 1e8f;
    /** The distance between float32 values near {@link #MAGNITUDE}: 2^(26 - 23). */
    static final float SPACING = 8f;
    static final float QUERY_KEY_FACTOR = 1e-3f;

    @Override
    public String name() {
        return "large-score-gradients";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().additiveBias() && subject.exactOptions().isPresent();
    }

    @Override
    public Verdict run(Subject subject) {
        Map<String, String> options = subject.exactOptions().orElseThrow();
        AttentionMechanism mechanism = subject.create(options, Problem.HEADS, Problem.HEAD_DIM);
        Problem random = Problem.random(Problem.Features.all(subject.capabilities(), true), subject.capabilities(), SEED + 13);
        SplittableRandom rng = new SplittableRandom(SEED + 14);
        float[] bias = new float[random.bias.length];
        for (int e = 0; e < bias.length; e++) {
            bias[e] = -MAGNITUDE - SPACING * rng.nextInt(2);
        }
        Problem problem = random.withQueriesAndKeysScaled(QUERY_KEY_FACTOR).withBias(bias);
        GradientCheck.Result result = InputGradients.againstReference(problem, mechanism, options).run();
        return new Verdict(result.passed(), "scores near -" + MAGNITUDE + ": " + result.detail());
    }
}
