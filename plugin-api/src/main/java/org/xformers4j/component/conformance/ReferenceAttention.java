package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;

/**
 * Softmax attention in double precision with plain loops: the reference the suite compares
 * mechanisms with, independent of the tensor ops, so that {@code full} is checked as much as the
 * others.
 * <pre>
 *   out[b,h,i,:] = Σ_j softmax_j(scale · q[b,h,i,:]·k[b,h,j,:] + bias[b,h,i,j]) v[b,h,j,:]
 * </pre>
 * over the keys j that query i may see: not padded, with a causal context at most its
 * position {@code keyLength - queryLength + i} (queries aligned to the end of the keys), and whose
 * score is not -∞ (a bias of -∞ masks a key, as {@link
 * org.xformers4j.component.attention.AttentionContext} defines). A query that may see no key
 * outputs zeros. A finite bias, however large, is an ordinary score. {@code scale =
 * 1/sqrt(headDim)}, the default of every mechanism.
 *
 * <p>With a shared query-key projection (Kitaev et al., 2020, "Reformer: The Efficient
 * Transformer", §2) the keys are the queries normalised to unit length, {@code k_j = q_j / |q_j|},
 * and a query does not attend to its own position unless it may see no other key.
 */
final class ReferenceAttention {

    private ReferenceAttention() {
    }

    /**
     * @param problem sizes and context features
     * @param q       [batch, heads, queryLength, headDim]
     * @param k       [batch, heads, keyLength, headDim], or null with a shared query-key projection
     * @param v       [batch, heads, keyLength, valueDim]
     * @param bias    [batch, heads, queryLength, keyLength], or null
     * @return [batch, heads, queryLength, valueDim]
     */
    static double[] forward(Problem problem, double[] q, double[] k, double[] v, double[] bias) {
        return forward(problem, q, k, v, bias, false);
    }

    /**
     * {@link #forward(Problem, double[], double[], double[], double[])}, with {@code float32Scores}
     * each score rounded to float32 once the bias is added, as a mechanism computing in float32
     * forms it: with a bias of -1e9 (float32 spacing 64 there) a query-key term below 32 is lost,
     * and a row whose keys all carry that bias is uniform over them.
     */
    static double[] forward(Problem problem, double[] q, double[] k, double[] v, double[] bias,
                            boolean float32Scores) {
        return forward(problem, q, k, v, bias, float32Scores, null);
    }

    /**
     * {@link #forward(Problem, double[], double[], double[], double[], boolean)} restricted to the
     * pairs {@code pattern} allows, its bias added to their scores ({@link PatternedAttention}); null
     * for every pair.
     */
    static double[] forward(Problem problem, double[] q, double[] k, double[] v, double[] bias,
                            boolean float32Scores, AttentionPattern pattern) {
        int lq = problem.queryLength;
        int lk = problem.keyLength;
        int d = Problem.HEAD_DIM;
        int dv = Problem.VALUE_DIM;
        double scale = 1 / Math.sqrt(d);
        double[] keys = k != null ? k : unitRows(q, d);
        double[] out = new double[Problem.BATCH * Problem.HEADS * lq * dv];
        double[] scores = new double[lk];
        boolean[] visible = new boolean[lk];
        for (int b = 0; b < Problem.BATCH; b++) {
            for (int h = 0; h < Problem.HEADS; h++) {
                int bh = b * Problem.HEADS + h;
                for (int i = 0; i < lq; i++) {
                    int position = lk - lq + i;
                    int seen = 0;
                    double shift = float32Scores ? 0 : biasShift(problem, bias, b, i, (bh * lq + i) * lk);
                    for (int j = 0; j < lk; j++) {
                        double s = 0;
                        for (int c = 0; c < d; c++) {
                            s += q[(bh * lq + i) * d + c] * keys[(bh * lk + j) * d + c];
                        }
                        double biasTerm = (bias == null ? 0 : bias[(bh * lq + i) * lk + j])
                                + (pattern == null ? 0 : pattern.bias(h, i, j));
                        scores[j] = float32Scores ? (float) (s * scale + biasTerm) : s * scale + (biasTerm - shift);
                        visible[j] = problem.visible(b, i, j) && (pattern == null || pattern.allows(h, i, j))
                                && scores[j] != Double.NEGATIVE_INFINITY;
                        seen += visible[j] ? 1 : 0;
                    }
                    if (k == null && visible[position] && seen > 1) {
                        visible[position] = false;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < lk; j++) {
                        max = visible[j] ? Math.max(max, scores[j]) : max;
                    }
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        scores[j] = visible[j] ? Math.exp(scores[j] - max) : 0;
                        sum += scores[j];
                    }
                    for (int j = 0; j < lk && sum > 0; j++) {
                        for (int c = 0; c < dv; c++) {
                            out[(bh * lq + i) * dv + c] += scores[j] / sum * v[(bh * lk + j) * dv + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * The largest finite bias of the keys query i of batch element b may see (0 without one),
     * subtracted from the row's bias before the query-key term is added: the softmax does not
     * change, and under a bias of -1e8 the query-key term keeps its double precision (its finite
     * differences would otherwise drown in the bias's rounding).
     */
    private static double biasShift(Problem problem, double[] bias, int b, int i, int rowOffset) {
        double shift = Double.NEGATIVE_INFINITY;
        for (int j = 0; bias != null && j < problem.keyLength; j++) {
            double x = bias[rowOffset + j];
            if (problem.visible(b, i, j) && Double.isFinite(x)) {
                shift = Math.max(shift, x);
            }
        }
        return Double.isFinite(shift) ? shift : 0;
    }

    /** Each row of {@code x} (rows of {@code width}) divided by its Euclidean length. */
    private static double[] unitRows(double[] x, int width) {
        double[] out = new double[x.length];
        for (int r = 0; r < x.length; r += width) {
            double norm = 0;
            for (int c = 0; c < width; c++) {
                norm += x[r + c] * x[r + c];
            }
            norm = Math.sqrt(norm);
            for (int c = 0; c < width; c++) {
                out[r + c] = x[r + c] / norm;
            }
        }
        return out;
    }
}
