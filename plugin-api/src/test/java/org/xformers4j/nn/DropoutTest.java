package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class DropoutTest {

    @Test
    void sameSeedGivesSameMasks() {
        Tensor x = Tensor.ones(1000);
        Dropout a = new Dropout(0.3f, 42);
        Dropout b = new Dropout(0.3f, 42);
        float[] first = a.forward(x).toFloatArray();
        assertThat(b.forward(x).toFloatArray()).containsExactly(first);
        assertThat(a.forward(x).toFloatArray()).as("the next mask differs").isNotEqualTo(first);
    }

    @Test
    void zeroesAboutPAndScalesTheRest() {
        float[] y = new Dropout(0.25f, 7).forward(Tensor.ones(20_000)).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) {
                zeros++;
            } else {
                assertThat(v).isCloseTo(1f / 0.75f, within(1e-6f));
            }
        }
        assertThat(zeros / 20_000.0).isCloseTo(0.25, within(0.02));
    }

    @Test
    void identityInEvalModeAndForZeroP() {
        Tensor x = Tensor.ones(10);
        Dropout dropout = new Dropout(0.5f, 1);
        dropout.eval();
        assertThat(dropout.forward(x)).isSameAs(x);
        assertThat(new Dropout(0f, 1).forward(x)).isSameAs(x);
    }

    @Test
    void rejectsBadP() {
        assertThatThrownBy(() -> new Dropout(1f, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("p").hasMessageContaining("1.0");
        assertThatThrownBy(() -> new Dropout(-0.1f, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-0.1");
    }
}
