package org.xformers4j.component.conformance;

/**
 * Softmax attention in double precision with plain loops: the reference the suite compares
 * mechanisms with, independent of the tensor ops, so that {@code full} is checked as much as the
 * others.
 * <pre>
 *   out[b,h,i,:] = Σ_j softmax_j(scale · q[b,h,i,:]·k[b,h,j,:] + bias[b,h,i,j]) v[b,h,j,:]
 * </pre>
 * over the keys j that query i may see: not padded, and with a causal context at most its
 * position {@code keyLength - queryLength + i} (queries aligned to the end of the keys). A query
 * that may see no key outputs zeros. {@code scale = 1/sqrt(headDim)}, the default of every
 * mechanism.
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
                    for (int j = 0; j < lk; j++) {
                        visible[j] = !problem.padded(b, j) && !(problem.features.causal() && j > position);
                        seen += visible[j] ? 1 : 0;
                    }
                    if (k == null && visible[position] && seen > 1) {
                        visible[position] = false;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < lk; j++) {
                        if (visible[j]) {
                            double s = 0;
                            for (int c = 0; c < d; c++) {
                                s += q[(bh * lq + i) * d + c] * keys[(bh * lk + j) * d + c];
                            }
                            scores[j] = s * scale + (bias == null ? 0 : bias[(bh * lq + i) * lk + j]);
                            max = Math.max(max, scores[j]);
                        }
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
