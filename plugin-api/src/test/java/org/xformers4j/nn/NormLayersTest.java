package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class NormLayersTest {

    private static final int ROWS = 6;
    private static final int DIM = 5;

    /** g · x / max(‖x‖, eps) row by row; g is a single value. */
    private static double[] scaleNorm(double[] x, double g, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < ROWS; r++) {
            double ss = 0;
            for (int j = 0; j < DIM; j++) {
                ss += x[r * DIM + j] * x[r * DIM + j];
            }
            double norm = Math.max(Math.sqrt(ss), eps);
            for (int j = 0; j < DIM; j++) {
                y[r * DIM + j] = g * x[r * DIM + j] / norm;
            }
        }
        return y;
    }

    /** (x - mean) / sqrt(var + eps) · γ + β, or x / sqrt(mean(x²) + eps) · γ when {@code beta} is null. */
    private static double[] norm(double[] x, double[] gamma, double[] beta, double eps, boolean rms) {
        double[] y = new double[x.length];
        for (int r = 0; r < ROWS; r++) {
            double mean = 0;
            if (!rms) {
                for (int j = 0; j < DIM; j++) {
                    mean += x[r * DIM + j] / DIM;
                }
            }
            double var = 0;
            for (int j = 0; j < DIM; j++) {
                double d = x[r * DIM + j] - mean;
                var += d * d / DIM;
            }
            for (int j = 0; j < DIM; j++) {
                double v = (x[r * DIM + j] - mean) / Math.sqrt(var + eps) * gamma[j];
                y[r * DIM + j] = rms ? v : v + beta[j];
            }
        }
        return y;
    }

    @Test
    void scaleNormMatchesReference() {
        SplittableRandom rng = new SplittableRandom(21);
        ScaleNorm norm = new ScaleNorm(DIM);
        assertThat(norm.scale().item()).isEqualTo((float) Math.sqrt(DIM));
        assertThat(norm.noDecayParameterNames()).containsExactly("g");
        GradCheck.of("ScaleNorm", in -> norm.forward(in[0]), ref -> scaleNorm(ref[0], ref[1][0], 1e-5),
                GradCheck.input(rng, 2, 3, DIM), norm.scale()).check();
    }

    @Test
    void scaleNormOfZeroRowIsZeroWithFiniteGradient() {
        ScaleNorm norm = new ScaleNorm(3);
        Tensor x = Tensor.zeros(1, 3).requiresGrad(true);
        Tensor y = norm.forward(x);
        assertThat(y.toFloatArray()).containsOnly(0f);
        y.backward(Tensor.of(new float[] {1f, -2f, 0.5f}, 1, 3));
        for (float g : x.grad().toFloatArray()) {
            assertThat(Float.isFinite(g)).isTrue();
        }
    }

    @Test
    void layerNormMatchesReference() {
        SplittableRandom rng = new SplittableRandom(22);
        LayerNorm norm = new LayerNorm(DIM);
        NnReference.randomize(norm, rng, 1f);
        assertThat(norm.noDecayParameterNames()).containsExactly("weight", "bias");
        GradCheck.of("LayerNorm", in -> norm.forward(in[0]), ref -> norm(ref[0], ref[1], ref[2], 1e-5, false),
                NnReference.withParameters(GradCheck.input(rng, ROWS, DIM), norm)).check();
    }

    @Test
    void rmsNormMatchesReference() {
        SplittableRandom rng = new SplittableRandom(23);
        RMSNorm norm = new RMSNorm(DIM);
        NnReference.randomize(norm, rng, 1f);
        assertThat(norm.noDecayParameterNames()).containsExactly("weight");
        GradCheck.of("RMSNorm", in -> norm.forward(in[0]), ref -> norm(ref[0], ref[1], null, 1e-6, true),
                NnReference.withParameters(GradCheck.input(rng, ROWS, DIM), norm)).check();
    }

    @Test
    void layerNormWithoutAffineHasNoParameters() {
        assertThat(new LayerNorm(4, 1e-5f, false).parameters()).isEmpty();
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new ScaleNorm(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ScaleNorm").hasMessageContaining("dim");
        assertThatThrownBy(() -> new RMSNorm(4, 0f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eps");
        assertThatThrownBy(() -> new LayerNorm(4, -1f, true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eps").hasMessageContaining("-1.0");
        assertThatThrownBy(() -> new ScaleNorm(4).forward(Tensor.zeros(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ScaleNorm").hasMessageContaining("[2, 3]");
    }
}
