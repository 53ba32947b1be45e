package org.xformers4j.compute.cpu;

/**
 * Layer-norm and RMS-norm kernels of {@link CpuBackend}, over the last dimension of a
 * {@code [rows, dim]} array; see {@link org.xformers4j.compute.ComputeBackend} for the contracts.
 *
 * <p>Forward and backward sit side by side as in llm.c. Rows are independent and run in parallel;
 * layer norm's rows are {@link ContiguousLoops} kernels (SIMD where available, the row sums
 * accumulated in double by the scalar ones and in float lanes by the SIMD ones): its passes over
 * the activations cost 4% of a char-LM training step with scalar loops. The parameter gradients sum
 * over rows: a second pass runs in parallel over columns, each column summing its rows in
 * ascending order into a double, so every element's summation order is fixed and no result depends
 * on the thread count. RMS norm's loops are scalar.
 */
final class CpuNorms {

    /** Elements per parallel chunk below which a loop runs inline. */
    private static final int GRAIN = 1 << 14;

    private final Parallel parallel;
    private final ContiguousLoops loops;

    CpuNorms(Parallel parallel) {
        this(parallel, ContiguousLoops.best());
    }

    CpuNorms(Parallel parallel, ContiguousLoops loops) {
        this.parallel = parallel;
        this.loops = loops;
    }

    /**
     * Ba et al., 2016, "Layer Normalization": y = (x - mean) · rstd · gamma + beta with
     * rstd = 1 / sqrt(var + eps), var the biased variance of the row.
     */
    void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps,
                   float[] y, float[] mean, float[] rstd) {
        // x, y: [rows, dim]; gamma, beta: [dim] or null; mean, rstd: [rows]
        parallel.forRange(rows, rowGrain(dim), (from, to) -> {
            for (int r = from; r < to; r++) {
                loops.layerNormRow(x, r, dim, gamma, beta, eps, y, mean, rstd);
            }
        });
    }

    /**
     * With norm = (x - mean) · rstd and dnorm = dy · gamma:
     * dx = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)); dGamma += Σ_rows dy · norm;
     * dBeta += Σ_rows dy.
     */
    void layerNormBackward(float[] x, float[] dy, float[] mean, float[] rstd, float[] gamma, int rows, int dim,
                           float[] dx, float[] dGamma, float[] dBeta) {
        // x, dy, dx: [rows, dim]; mean, rstd: [rows]; gamma, dGamma, dBeta: [dim] or null
        parallel.forRange(rows, rowGrain(dim), (from, to) -> {
            for (int r = from; r < to; r++) {
                loops.layerNormBackwardRow(x, dy, r, dim, gamma, mean[r], rstd[r], dx);
            }
        });
        parameterGradients(x, dy, mean, rstd, rows, dim, dGamma, dBeta);
    }

    /** Zhang and Sennrich, 2019, "Root Mean Square Layer Normalization": y = x · rstd · gamma, rstd = 1 / sqrt(mean(x²) + eps). */
    void rmsNorm(float[] x, int rows, int dim, float[] gamma, float eps, float[] y, float[] rstd) {
        // x, y: [rows, dim]; gamma: [dim] or null; rstd: [rows]
        parallel.forRange(rows, rowGrain(dim), (from, to) -> {
            for (int r = from; r < to; r++) {
                int off = r * dim;
                double squares = 0;
                for (int i = 0; i < dim; i++) {
                    double v = x[off + i];
                    squares += v * v;
                }
                float s = (float) (1.0 / Math.sqrt(squares / dim + eps));
                for (int i = 0; i < dim; i++) {
                    y[off + i] = x[off + i] * s * (gamma == null ? 1f : gamma[i]);
                }
                rstd[r] = s;
            }
        });
    }

    /**
     * With norm = x · rstd and dnorm = dy · gamma: dx = rstd · (dnorm - norm · mean(dnorm · norm));
     * dGamma += Σ_rows dy · norm.
     */
    void rmsNormBackward(float[] x, float[] dy, float[] rstd, float[] gamma, int rows, int dim,
                         float[] dx, float[] dGamma) {
        // x, dy, dx: [rows, dim]; rstd: [rows]; gamma, dGamma: [dim] or null
        parallel.forRange(rows, rowGrain(dim), (from, to) -> {
            for (int r = from; r < to; r++) {
                int off = r * dim;
                float s = rstd[r];
                double sumDnormNorm = 0;
                for (int i = 0; i < dim; i++) {
                    sumDnormNorm += dy[off + i] * (gamma == null ? 1f : gamma[i]) * (x[off + i] * s);
                }
                float meanDnormNorm = (float) (sumDnormNorm / dim);
                for (int i = 0; i < dim; i++) {
                    float dnorm = dy[off + i] * (gamma == null ? 1f : gamma[i]);
                    dx[off + i] = s * (dnorm - x[off + i] * s * meanDnormNorm);
                }
            }
        });
        parameterGradients(x, dy, null, rstd, rows, dim, dGamma, null);
    }

    /**
     * dGamma[i] += Σ_r dy[r, i] · norm[r, i] and dBeta[i] += Σ_r dy[r, i], with
     * norm = (x - mean) · rstd (mean null: 0). Parallel over columns, rows summed in order.
     */
    private void parameterGradients(float[] x, float[] dy, float[] mean, float[] rstd, int rows, int dim,
                                    float[] dGamma, float[] dBeta) {
        if (dGamma == null && dBeta == null) {
            return;
        }
        parallel.forRange(dim, Math.max(1, GRAIN / Math.max(1, rows)), (from, to) -> {
            double[] gammaSums = new double[to - from];
            double[] betaSums = new double[to - from];
            for (int r = 0; r < rows; r++) {
                int off = r * dim;
                float m = mean == null ? 0f : mean[r];
                float s = rstd[r];
                for (int i = from; i < to; i++) {
                    float d = dy[off + i];
                    gammaSums[i - from] += d * ((x[off + i] - m) * s);
                    betaSums[i - from] += d;
                }
            }
            for (int i = from; i < to; i++) {
                if (dGamma != null) {
                    dGamma[i] += (float) gammaSums[i - from];
                }
                if (dBeta != null) {
                    dBeta[i] += (float) betaSums[i - from];
                }
            }
        });
    }

    private static int rowGrain(int dim) {
        return Math.max(1, GRAIN / Math.max(1, dim));
    }
}
