package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;

/**
 * {@code huge-negative-bias}: some queries carry a huge negative additive bias on every key they
 * may see, and 0 on the keys they may not (padded, and with a causal context after them), as an
 * additive mask built per key (Hugging Face's) gives a query whose visible keys are all padding.
 * For each bias value of {@link #VALUES} (-1e9, -1e30, -{@link Float#MAX_VALUE}, -∞), with the bias
 * alone, with each declared mask (causal, key padding) and with every declared feature:
 * <ul>
 *   <li>outputs and the gradients of queries, keys, values and bias are finite;</li>
 *   <li>such a query puts no weight on a key it may not see: changing those keys and values leaves
 *       its output unchanged (the padding and causal masks win over any bias);</li>
 *   <li>in the exact configuration, the output equals {@link ReferenceAttention} on the scores
 *       rounded to float32: a finite bias is an ordinary score (such a query averages its visible
 *       keys by the softmax of their float32 scores, nearly uniformly), a bias of -∞ masks its key
 *       (such a query outputs zeros).</li>
 * </ul>
 */
final class HugeNegativeBias implements AttentionCheck {

    /** The bias values tried on every visible key of the chosen queries. */
    static final float[] VALUES = {-1e9f, -1e30f, -Float.MAX_VALUE, Float.NEGATIVE_INFINITY};

    /** Query positions that carry the huge bias, in every batch element and head. */
    private static final int[] ROWS = {1, 4, 6};

    @Override
    public String name() {
        return "huge-negative-bias";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().additiveBias();
    }

    @Override
    public Verdict run(Subject subject) {
        Optional<Map<String, String>> exact = subject.exactOptions();
        AttentionMechanism mechanism = subject.create(exact.orElse(Map.of()), Problem.HEADS, Problem.HEAD_DIM);
        double worstLeak = 0;
        double worstError = 0;
        List<String> labels = new ArrayList<>();
        for (Problem.Features features : variants(subject.capabilities())) {
            labels.add(features.label());
            Problem base = Problem.random(features, subject.capabilities(), SEED + 11);
            for (float value : VALUES) {
                Problem problem = base.withBias(hugeRows(base, value));
                String what = "bias " + value + " on every visible key of queries " + rows() + " under "
                        + features.label() + ": ";
                Problem.Backward result = problem.backward(mechanism);
                String nonFinite = result.nonFinite();
                if (nonFinite != null) {
                    return Verdict.fail(what + nonFinite);
                }
                double leak = leak(problem, mechanism, result.output());
                if (leak > UNCHANGED) {
                    return Verdict.fail(what + "they put weight on keys they may not see (changing those keys and "
                            + "values changed their output by " + Verdict.number(leak) + ")");
                }
                worstLeak = Math.max(worstLeak, leak);
                if (exact.isPresent()) {
                    double error = Values.maxRelativeError(result.output(), problem.referenceOfFloat32Scores());
                    if (!(error <= MatchesFull.TOLERANCE)) {
                        return Verdict.fail(what + "max relative error " + Verdict.number(error) + " (tolerance "
                                + Verdict.number(MatchesFull.TOLERANCE) + ") against float64 softmax attention of "
                                + "the float32 scores" + (exact.get().isEmpty() ? "" : " with " + exact.get()));
                    }
                    worstError = Math.max(worstError, error);
                }
            }
        }
        return Verdict.pass("biases " + Arrays.toString(VALUES) + " on every visible key of queries " + rows()
                + " under " + String.join(", ", labels) + ": outputs and gradients finite, max change from keys "
                + "they may not see " + Verdict.number(worstLeak) + (exact.isPresent() ? ", max relative error "
                + Verdict.number(worstError) + " against the float64 reference" : ""));
    }

    /** The bias alone, with the causal mask, with the padding mask (each when declared) and with every feature. */
    private static List<Problem.Features> variants(AttentionCapabilities c) {
        Problem.Features all = Problem.Features.all(c, false);
        Set<Problem.Features> out = new LinkedHashSet<>();
        out.add(new Problem.Features(false, false, true, false));
        out.add(new Problem.Features(all.causal(), false, true, false));
        out.add(new Problem.Features(false, all.padded(), true, false));
        out.add(all);
        return List.copyOf(out);
    }

    /** The problem's bias with {@code value} on every visible key of the {@link #ROWS} queries and 0 on their other keys. */
    private static float[] hugeRows(Problem problem, float value) {
        float[] bias = problem.bias.clone();
        for (int b = 0; b < Problem.BATCH; b++) {
            for (int h = 0; h < Problem.HEADS; h++) {
                for (int i : ROWS) {
                    for (int j = 0; j < problem.keyLength; j++) {
                        bias[problem.biasIndex(b, h, i, j)] = problem.visible(b, i, j) ? value : 0f;
                    }
                }
            }
        }
        return bias;
    }

    /**
     * The largest change of a {@link #ROWS} query's output when the keys and values it may not see
     * get new random values, one query at a time.
     */
    private static double leak(Problem problem, AttentionMechanism mechanism, float[] output) {
        double worst = 0;
        for (int b = 0; b < Problem.BATCH; b++) {
            for (int i : ROWS) {
                Problem changed = problem;
                for (int j = 0; j < problem.keyLength; j++) {
                    if (!problem.visible(b, i, j)) {
                        changed = changed.withKeyChanged(b, j, false, SEED + 500 + j);
                    }
                }
                if (changed != problem) {
                    int batch = b;
                    int query = i;
                    worst = Math.max(worst, problem.maxDifference(output, changed.forward(mechanism),
                            (bb, ii) -> bb == batch && ii == query));
                }
            }
        }
        return worst;
    }

    private static String rows() {
        return Arrays.toString(ROWS);
    }
}
