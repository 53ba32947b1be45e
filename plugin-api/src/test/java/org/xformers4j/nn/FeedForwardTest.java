package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.nn.FeedForward.Activation;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class FeedForwardTest {

    private static final int DIM = 4;
    private static final int HIDDEN = 6;
    private static final int ROWS = 6;

    private static DoubleUnaryOperator function(Activation activation) {
        return switch (activation) {
            case GELU, GEGLU -> NnReference::gelu;
            case RELU -> x -> Math.max(x, 0);
            case SQUARED_RELU -> x -> Math.max(x, 0) * Math.max(x, 0);
            case GLU -> NnReference::sigmoid;
            case SWIGLU -> x -> x * NnReference.sigmoid(x);
        };
    }

    /** The block in float64; {@code p} holds x then the parameters in registration order. */
    private static double[] reference(Activation activation, boolean bias, double[][] p) {
        DoubleUnaryOperator f = function(activation);
        double[] x = p[0];
        int next = 1;
        double[] h;
        if (activation.gated()) {
            double[] gate = NnReference.linear(x, ROWS, DIM, p[next++], HIDDEN, bias ? p[next++] : null);
            double[] up = NnReference.linear(x, ROWS, DIM, p[next++], HIDDEN, bias ? p[next++] : null);
            h = NnReference.mul(NnReference.map(gate, f), up);
        } else {
            h = NnReference.map(NnReference.linear(x, ROWS, DIM, p[next++], HIDDEN, bias ? p[next++] : null), f);
        }
        return NnReference.linear(h, ROWS, HIDDEN, p[next++], DIM, bias ? p[next] : null);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void matchesReferenceWithBias(Activation activation) {
        check(activation, true, 11);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void matchesReferenceWithoutBias(Activation activation) {
        check(activation, false, 12);
    }

    private static void check(Activation activation, boolean bias, long seed) {
        SplittableRandom rng = new SplittableRandom(seed + activation.ordinal());
        FeedForward ffn = new FeedForward(DIM, HIDDEN, activation, bias, 0f, rng);
        NnReference.randomize(ffn, rng, 0.7f);
        Tensor x = GradCheck.input(rng, 2, 3, DIM);
        GradCheck.of("FeedForward " + activation + (bias ? "" : " without bias"), in -> ffn.forward(in[0]),
                ref -> reference(activation, bias, ref), NnReference.withParameters(x, ffn)).check();
    }

    @Test
    void gatedVariantsHaveAGateProjection() {
        SplittableRandom rng = new SplittableRandom(5);
        assertThat(new FeedForward(DIM, HIDDEN, Activation.SWIGLU, false, 0f, rng).namedParameters())
                .containsOnlyKeys("gate.weight", "up.weight", "down.weight");
        assertThat(new FeedForward(DIM, HIDDEN, Activation.GELU, true, 0f, rng).namedParameters())
                .containsOnlyKeys("up.weight", "up.bias", "down.weight", "down.bias");
    }

    @Test
    void dropoutActsOnlyInTraining() {
        SplittableRandom rng = new SplittableRandom(6);
        FeedForward withDropout = new FeedForward(DIM, 64, Activation.RELU, true, 0.5f, rng);
        FeedForward without = new FeedForward(DIM, 64, Activation.RELU, true, 0f, rng);
        NnReference.randomize(withDropout, rng, 1f);
        without.loadStateDict(withDropout.stateDict());
        Tensor x = Tensor.randn(rng, 3, DIM);
        float[] plain = without.forward(x).toFloatArray();
        assertThat(withDropout.forward(x).toFloatArray()).isNotEqualTo(plain);
        withDropout.eval();
        assertThat(withDropout.forward(x).toFloatArray()).containsExactly(plain);
    }

    @Test
    void rejectsBadArguments() {
        SplittableRandom rng = new SplittableRandom(7);
        assertThatThrownBy(() -> new FeedForward(0, 4, Activation.GELU, true, 0f, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dim").hasMessageContaining("0");
        assertThatThrownBy(() -> new FeedForward(4, -1, Activation.GELU, true, 0f, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hidden").hasMessageContaining("-1");
        assertThatThrownBy(() -> new FeedForward(4, 4, null, true, 0f, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activation");
        assertThatThrownBy(() -> new FeedForward(4, 4, Activation.GELU, true, 1.5f, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1.5");
    }
}
