package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.Tensor;

/**
 * {@code weights-reproduce-output} ({@link WeightedAttention}): the weights a mechanism reports are
 * the ones its forward applies. Under plain, each declared context feature and all together (and,
 * with a key padding mask, batch element 1 padded whole), the weights w = {@code
 * attentionWeights(q, k, context)} must be [batch, heads, queryLength, keyLength], finite and
 * non-negative, exactly 0 on padded and causally later keys, each row summing to 1 or to 0 (a
 * query that sees no key) within {@value #ROW_SUM_TOLERANCE}, and not recorded in a graph when
 * the inputs require grad; and {@code Σ_j w[b,h,i,j] · v[b,h,j,:]}, accumulated in float64,
 * must equal the float32 forward within {@link MatchesFull#TOLERANCE}·(1 + |forward|).
 */
final class WeightsReproduceOutput implements AttentionCheck {

    static final double ROW_SUM_TOLERANCE = 1e-5;

    @Override
    public String name() {
        return "weights-reproduce-output";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.create(Problem.HEADS, Problem.HEAD_DIM) instanceof WeightedAttention;
    }

    @Override
    public Verdict run(Subject subject) {
        AttentionMechanism mechanism = subject.create(Problem.HEADS, Problem.HEAD_DIM);
        WeightedAttention weighted = (WeightedAttention) mechanism;
        List<Problem> problems = new ArrayList<>();
        for (Problem.Features features : Problem.Features.variants(subject.capabilities())) {
            problems.add(Problem.random(features, subject.capabilities(), SEED + 30));
        }
        if (subject.capabilities().keyPaddingMask()) {
            Problem.Features all = Problem.Features.all(subject.capabilities(), false);
            problems.add(Problem.random(all, subject.capabilities(), SEED + 31).withPaddedKeys(Problem.LENGTH));
        }
        WorstError errors = new WorstError();
        for (Problem problem : problems) {
            String label = problem.features.label() + (problem.paddedKeys == Problem.LENGTH ? " (all padded)" : "");
            Tensor q = Tensor.of(problem.query, problem.queryShape()).requiresGrad(true);
            Tensor k = problem.key == null ? q : Tensor.of(problem.key, problem.keyShape()).requiresGrad(true);
            Tensor bias = problem.bias == null ? null : Tensor.of(problem.bias, problem.biasShape()).requiresGrad(true);
            Tensor w = weighted.attentionWeights(q, k, problem.context(bias));
            int[] expected = {Problem.BATCH, Problem.HEADS, problem.queryLength, problem.keyLength};
            if (!Arrays.equals(w.shape(), expected)) {
                return Verdict.fail(label + ": weights are " + Arrays.toString(w.shape()) + ", expected "
                        + Arrays.toString(expected));
            }
            if (w.requiresGrad()) {
                return Verdict.fail(label + ": the weights record a graph; they must be computed without one");
            }
            float[] weights = w.toFloatArray();
            String wrong = wrongWeight(problem, weights);
            if (wrong != null) {
                return Verdict.fail(label + ": " + wrong);
            }
            Verdict wrongShape = errors.add(label, problem.forward(mechanism), weightedValues(problem, weights));
            if (wrongShape != null) {
                return wrongShape;
            }
        }
        return errors.verdict(MatchesFull.TOLERANCE, "the reported weights times the values in float64 (rows sum "
                + "to 1 or 0, masked keys 0)");
    }

    /** The first weight that is not finite, negative, or on a masked key, or row whose sum is not 1 or 0; null if none. */
    private static String wrongWeight(Problem problem, float[] w) {
        int lq = problem.queryLength;
        int lk = problem.keyLength;
        for (int row = 0; row < w.length / lk; row++) {
            int b = row / (Problem.HEADS * lq);
            int i = row % lq;
            double sum = 0;
            for (int j = 0; j < lk; j++) {
                float weight = w[row * lk + j];
                if (!Float.isFinite(weight) || weight < 0f) {
                    return "weight of key " + j + " for query " + i + " (row " + row + ") is " + weight;
                }
                if (weight != 0f && !problem.visible(b, i, j)) {
                    return "weight of masked key " + j + " for query " + i + " (row " + row + ") is " + weight
                            + ", must be 0";
                }
                sum += weight;
            }
            if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE && Math.abs(sum) > ROW_SUM_TOLERANCE) {
                return "row " + row + " (query " + i + ") sums to " + sum + ", not 1 or 0";
            }
        }
        return null;
    }

    /** Σ_j w[b,h,i,j] · v[b,h,j,:] in float64, [batch, heads, queryLength, valueDim]. */
    private static double[] weightedValues(Problem problem, float[] w) {
        int lq = problem.queryLength;
        int lk = problem.keyLength;
        int dv = Problem.VALUE_DIM;
        double[] out = new double[Problem.BATCH * Problem.HEADS * lq * dv];
        for (int bh = 0; bh < Problem.BATCH * Problem.HEADS; bh++) {
            for (int i = 0; i < lq; i++) {
                for (int j = 0; j < lk; j++) {
                    double weight = w[(bh * lq + i) * lk + j];
                    for (int d = 0; d < dv; d++) {
                        out[(bh * lq + i) * dv + d] += weight * problem.value[(bh * lk + j) * dv + d];
                    }
                }
            }
        }
        return out;
    }
}
