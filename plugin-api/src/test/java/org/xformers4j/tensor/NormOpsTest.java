package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

class NormOpsTest {

    private static final float EPS = 1e-5f;

    private final SplittableRandom rng = new SplittableRandom(5);

    /**
     * Float64 layer norm (rms = false) or RMS norm (rms = true) over rows of {@code dim}; gamma and
     * beta may be null.
     */
    private static double[] reference(double[] x, int dim, double[] gamma, double[] beta, boolean rms) {
        double[] y = new double[x.length];
        for (int off = 0; off < x.length; off += dim) {
            double mean = 0;
            if (!rms) {
                for (int i = 0; i < dim; i++) {
                    mean += x[off + i] / dim;
                }
            }
            double var = 0;
            for (int i = 0; i < dim; i++) {
                var += (x[off + i] - mean) * (x[off + i] - mean) / dim;
            }
            for (int i = 0; i < dim; i++) {
                double norm = (x[off + i] - mean) / Math.sqrt(var + EPS);
                y[off + i] = norm * (gamma == null ? 1 : gamma[i]) + (beta == null ? 0 : beta[i]);
            }
        }
        return y;
    }

    @ParameterizedTest(name = "x {0} gamma={1} beta={2}")
    @CsvSource({
        "'3,5', true, true",
        "'3,5', false, false",
        "'2,3,8', true, false",
        "'2,3,8', false, true",
        "'7', true, true",
        "'3,37', true, true",
        "'2,37', false, false",
        "'2,2,32', false, true"
    })
    void layerNormMatchesReference(String xShape, boolean withGamma, boolean withBeta) {
        int[] shape = parse(xShape);
        int dim = shape[shape.length - 1];
        Tensor gamma = withGamma ? GradCheck.input(rng, dim) : null;
        Tensor beta = withBeta ? GradCheck.input(rng, dim) : null;
        int betaAt = withGamma ? 2 : 1;
        GradCheck.of("layerNorm", in -> Functional.layerNorm(in[0], withGamma ? in[1] : null,
                        withBeta ? in[betaAt] : null, EPS),
                ref -> reference(ref[0], dim, withGamma ? ref[1] : null, withBeta ? ref[betaAt] : null, false),
                inputs(GradCheck.input(rng, shape), gamma, beta)).check();
    }

    @ParameterizedTest(name = "x {0} gamma={1}")
    @CsvSource({"'3,5', true", "'3,5', false", "'2,3,8', true", "'6', false"})
    void rmsNormMatchesReference(String xShape, boolean withGamma) {
        int[] shape = parse(xShape);
        int dim = shape[shape.length - 1];
        Tensor gamma = withGamma ? GradCheck.input(rng, dim) : null;
        GradCheck.of("rmsNorm", in -> Functional.rmsNorm(in[0], withGamma ? in[1] : null, EPS),
                ref -> reference(ref[0], dim, withGamma ? ref[1] : null, null, true),
                inputs(GradCheck.input(rng, shape), gamma, null)).check();
    }

    @Test
    void parameterGradientsAloneWhenTheInputIsConstant() {
        Tensor x = Tensor.randn(rng, 4, 6);
        GradCheck.of("layerNorm affine", in -> Functional.layerNorm(x, in[0], in[1], EPS),
                ref -> reference(toDouble(x.toFloatArray()), 6, ref[0], ref[1], false),
                GradCheck.input(rng, 6), GradCheck.input(rng, 6)).check();
    }

    @Test
    void badArgumentsAreRejectedWithShapes() {
        Tensor x = Tensor.zeros(2, 4);
        assertThatThrownBy(() -> Functional.layerNorm(x, Tensor.ones(3), null, EPS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layerNorm: gamma must have shape [4] for x of shape [2, 4], got [3]");
        assertThatThrownBy(() -> Functional.layerNorm(x, null, Tensor.ones(1, 4), EPS))
                .hasMessageContaining("layerNorm: beta must have shape [4] for x of shape [2, 4], got [1, 4]");
        assertThatThrownBy(() -> Functional.rmsNorm(x, Tensor.ones(5), EPS))
                .hasMessageContaining("rmsNorm: gamma must have shape [4]");
        assertThatThrownBy(() -> Functional.rmsNorm(x, null, -1e-5f))
                .hasMessageContaining("rmsNorm: eps must be finite and >= 0, got -1.0E-5");
        assertThatThrownBy(() -> Functional.layerNorm(Tensor.scalar(1f), null, null, EPS))
                .hasMessageContaining("layerNorm: x must have at least one dimension");
    }

    @Test
    void backwardGivesTheSameBitsOnOneAndTwoThreads() {
        ComputeBackend[] backends = {
            new CpuBackend(new Parallel(1), Sgemm.best()), new CpuBackend(new Parallel(2), Sgemm.best())
        };
        int rows = 256;
        int dim = 384;
        float[] x = random(rows * dim);
        float[] gamma = random(dim);
        float[] beta = random(dim);
        float[] gradOut = random(rows * dim);
        float[][][] results = new float[2][][];
        for (int b = 0; b < 2; b++) {
            ComputeBackend backend = backends[b];
            Tensor xt = Tensor.of(backend, x, rows, dim).requiresGrad(true);
            Tensor gt = Tensor.of(backend, gamma, dim).requiresGrad(true);
            Tensor bt = Tensor.of(backend, beta, dim).requiresGrad(true);
            Tensor dy = Tensor.of(backend, gradOut, rows, dim);
            Tensor y = Functional.layerNorm(xt, gt, bt, EPS);
            y.backward(dy);
            float[] layer = y.toFloatArray();
            float[] dxLayer = xt.grad().toFloatArray();
            float[] dGammaLayer = gt.grad().toFloatArray();
            float[] dBeta = bt.grad().toFloatArray();
            xt.zeroGrad();
            gt.zeroGrad();
            Tensor r = Functional.rmsNorm(xt, gt, EPS);
            r.backward(dy);
            results[b] = new float[][] {layer, dxLayer, dGammaLayer, dBeta, r.toFloatArray(),
                xt.grad().toFloatArray(), gt.grad().toFloatArray()};
        }
        for (int k = 0; k < results[0].length; k++) {
            assertThat(results[1][k]).as("result %d", k).isEqualTo(results[0][k]);
        }
    }

    private float[] random(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) rng.nextGaussian();
        }
        return out;
    }

    /** The non-null tensors, in order. */
    private static Tensor[] inputs(Tensor... maybe) {
        return Arrays.stream(maybe).filter(Objects::nonNull).toArray(Tensor[]::new);
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static int[] parse(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    }
}
