package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InitTest {

    private static double std(float[] values) {
        double sum = 0;
        double sq = 0;
        for (float v : values) {
            sum += v;
            sq += v * (double) v;
        }
        double mean = sum / values.length;
        return Math.sqrt(sq / values.length - mean * mean);
    }

    @Test
    void xavierUniformIsBoundedWithTheRightSpread() {
        float[] w = Init.xavierUniform(new SplittableRandom(1), 2f, 200, 100).toFloatArray();
        double a = 2 * Math.sqrt(6.0 / 300);
        for (float v : w) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) a);
        }
        assertThat(std(w)).isCloseTo(a / Math.sqrt(3), within(0.01 * a));
    }

    @Test
    void xavierNormalHasGlorotStd() {
        float[] w = Init.xavierNormal(new SplittableRandom(2), 1f, 300, 100, 2).toFloatArray();
        assertThat(std(w)).isCloseTo(Math.sqrt(2.0 / (400 * 2)), within(0.002));
    }

    @Test
    void seededAndDeterministic() {
        assertThat(Init.normal(new SplittableRandom(3), 1f, 0.5f, 4, 4).toFloatArray())
                .containsExactly(Init.normal(new SplittableRandom(3), 1f, 0.5f, 4, 4).toFloatArray());
        assertThat(Init.zeros(2, 3).toFloatArray()).containsOnly(0f);
        assertThat(Init.ones(5).toFloatArray()).containsOnly(1f);
    }

    @Test
    void rejectsBadArguments() {
        SplittableRandom rng = new SplittableRandom(4);
        assertThatThrownBy(() -> Init.xavierUniform(rng, 1f, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("xavierUniform").hasMessageContaining("[5]");
        assertThatThrownBy(() -> Init.normal(rng, 0f, -1f, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("std");
        assertThatThrownBy(() -> Init.uniform(rng, 1f, 0f, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("low 1.0");
    }
}
