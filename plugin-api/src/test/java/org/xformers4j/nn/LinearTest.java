package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class LinearTest {

    @Test
    void batchedInputWithBiasMatchesReference() {
        SplittableRandom rng = new SplittableRandom(1);
        Linear linear = new Linear(4, 5, true, rng);
        NnReference.randomize(linear, rng, 0.5f);
        GradCheck.of("Linear", in -> linear.forward(in[0]),
                ref -> NnReference.linear(ref[0], 6, 4, ref[1], 5, ref[2]),
                GradCheck.input(rng, 2, 3, 4), linear.weight(), linear.bias()).check();
    }

    @Test
    void matrixInputWithoutBiasMatchesReference() {
        SplittableRandom rng = new SplittableRandom(2);
        Linear linear = new Linear(3, 2, false, rng);
        assertThat(linear.bias()).isNull();
        assertThat(linear.namedParameters()).containsOnlyKeys("weight");
        GradCheck.of("Linear without bias", in -> linear.forward(in[0]),
                ref -> NnReference.linear(ref[0], 4, 3, ref[1], 2, null),
                GradCheck.input(rng, 4, 3), linear.weight()).check();
    }

    @Test
    void vectorInputGivesAVector() {
        SplittableRandom rng = new SplittableRandom(5);
        Linear linear = new Linear(3, 2, true, rng);
        NnReference.randomize(linear, rng, 1f);
        GradCheck.of("Linear on a vector", in -> linear.forward(in[0]),
                ref -> NnReference.linear(ref[0], 1, 3, ref[1], 2, ref[2]),
                GradCheck.input(rng, 3), linear.weight(), linear.bias()).check();
        assertThat(linear.forward(Tensor.zeros(3)).shape()).containsExactly(2);
    }

    @Test
    void weightIsOutByInAndGlorotBounded() {
        Linear linear = new Linear(30, 20, true, new SplittableRandom(3));
        assertThat(linear.weight().shape()).containsExactly(20, 30);
        assertThat(linear.bias().shape()).containsExactly(20);
        float bound = (float) Math.sqrt(6.0 / 50);
        for (float w : linear.weight().toFloatArray()) {
            assertThat(Math.abs(w)).isLessThanOrEqualTo(bound);
        }
        assertThat(linear.bias().toFloatArray()).containsOnly(0f);
        assertThat(linear.noDecayParameterNames()).containsExactly("bias");
    }

    @Test
    void sameSeedSameWeights() {
        float[] a = new Linear(5, 7, true, new SplittableRandom(9)).weight().toFloatArray();
        float[] b = new Linear(5, 7, true, new SplittableRandom(9)).weight().toFloatArray();
        assertThat(a).containsExactly(b);
    }

    @Test
    void rejectsBadArguments() {
        SplittableRandom rng = new SplittableRandom(4);
        assertThatThrownBy(() -> new Linear(0, 3, true, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inFeatures").hasMessageContaining("0");
        assertThatThrownBy(() -> new Linear(3, -2, true, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outFeatures").hasMessageContaining("-2");
        Linear linear = new Linear(3, 2, true, rng);
        assertThatThrownBy(() -> linear.forward(Tensor.zeros(2, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Linear").hasMessageContaining("[2, 4]");
    }
}
