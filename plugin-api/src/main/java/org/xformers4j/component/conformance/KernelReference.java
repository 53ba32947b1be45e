package org.xformers4j.component.conformance;

import org.xformers4j.component.attention.KernelFeatureMap;

/**
 * Kernel attention in double precision with plain loops, on the explicit N×N kernel matrix: the
 * reference {@code matches-kernel-definition} and {@code gradient-inputs} compare a mechanism that
 * declares a {@link KernelFeatureMap} with.
 * <pre>
 *   A[b,h,i,j] = φ_h(q[b,h,i,:], p(i)) · φ_h(k[b,h,j,:], j)   if query i may see key j, else 0
 *   out[b,h,i,:] = Σ_j A[b,h,i,j] v[b,h,j,:] / Σ_j A[b,h,i,j]
 * </pre>
 * where p(i) = {@code keyLength - queryLength + i} is query i's position (queries aligned to the
 * end of the keys; φ ignores it unless the map is positional, {@link
 * KernelFeatureMap#features(int, int, double[])}), and query i may see key j when j is not padded
 * and, with a causal context, j is at most p(i): the mask
 * is applied explicitly to the matrix, not through prefix sums. A query whose row sums to 0 (every
 * key masked) outputs zeros.
 */
final class KernelReference {

    private KernelReference() {
    }

    /**
     * @param problem sizes and context features (without bias or a shared query-key projection)
     * @param map     the mechanism's feature map
     * @param q       [batch, heads, queryLength, headDim]
     * @param k       [batch, heads, keyLength, headDim]
     * @param v       [batch, heads, keyLength, valueDim]
     * @return [batch, heads, queryLength, valueDim]
     */
    static double[] forward(Problem problem, KernelFeatureMap map, double[] q, double[] k, double[] v) {
        if (problem.bias != null || k == null) {
            throw new IllegalArgumentException("the kernel reference takes no bias and no shared query-key projection");
        }
        int lq = problem.queryLength;
        int lk = problem.keyLength;
        int d = Problem.HEAD_DIM;
        int dv = Problem.VALUE_DIM;
        double[] out = new double[Problem.BATCH * Problem.HEADS * lq * dv];
        for (int b = 0; b < Problem.BATCH; b++) {
            for (int h = 0; h < Problem.HEADS; h++) {
                int bh = b * Problem.HEADS + h;
                double[][] keyFeatures = new double[lk][];
                for (int j = 0; j < lk; j++) {
                    keyFeatures[j] = map.features(h, j, row(k, (bh * lk + j) * d, d));
                }
                double[][] matrix = new double[lq][lk];
                for (int i = 0; i < lq; i++) {
                    double[] queryFeatures = map.features(h, lk - lq + i, row(q, (bh * lq + i) * d, d));
                    for (int j = 0; j < lk; j++) {
                        matrix[i][j] = dot(queryFeatures, keyFeatures[j]);
                    }
                }
                applyMask(problem, b, matrix);
                for (int i = 0; i < lq; i++) {
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        sum += matrix[i][j];
                    }
                    for (int j = 0; j < lk && sum != 0; j++) {
                        for (int c = 0; c < dv; c++) {
                            out[(bh * lq + i) * dv + c] += matrix[i][j] / sum * v[(bh * lk + j) * dv + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Zeros the entries (i, j) of the kernel matrix of batch element {@code b} where query i may not see key j. */
    private static void applyMask(Problem problem, int b, double[][] matrix) {
        for (int i = 0; i < matrix.length; i++) {
            for (int j = 0; j < matrix[i].length; j++) {
                if (!problem.visible(b, i, j)) {
                    matrix[i][j] = 0;
                }
            }
        }
    }

    private static double[] row(double[] x, int offset, int length) {
        double[] out = new double[length];
        System.arraycopy(x, offset, out, 0, length);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalStateException("feature map gave " + a.length + " and " + b.length + " features");
        }
        double s = 0;
        for (int c = 0; c < a.length; c++) {
            s += a[c] * b[c];
        }
        return s;
    }
}
