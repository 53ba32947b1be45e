package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class SimdExpTest {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Test
    void expOfNonPositiveIsWithinAnUlpOfExpWhereverTheResultIsNormalAndZeroBelow() {
        float flush = (float) (-127 * Math.log(2));
        float[] x = new float[S.length()];
        int checked = 0;
        for (float start = -110f; start <= 0f; start += 0.0137f * S.length()) {
            for (int i = 0; i < x.length; i++) {
                x[i] = Math.min(0f, start + 0.0137f * i);
            }
            FloatVector v = FloatVector.fromArray(S, x, 0);
            float[] fast = SimdLoops.expNonPositive(v).toArray();
            float[] general = SimdLoops.exp(v).toArray();
            for (int i = 0; i < x.length; i++) {
                if (general[i] >= Float.MIN_NORMAL) {
                    // the reduction's last step is one fused multiply-add instead of a product and a sum
                    assertThat(Math.abs(Float.floatToRawIntBits(fast[i]) - Float.floatToRawIntBits(general[i])))
                            .as("ulps between e^%s and exp's", x[i]).isLessThanOrEqualTo(1);
                    assertThat((double) fast[i]).as("e^%s", x[i])
                            .isCloseTo(Math.exp(x[i]), org.assertj.core.data.Percentage.withPercentage(3e-5));
                    checked++;
                } else if (x[i] < flush) {
                    assertThat(fast[i]).as("e^%s", x[i]).isZero();
                } else {
                    // between e^-87.3 and -127 ln 2: a subnormal
                    assertThat(fast[i]).as("e^%s", x[i]).isLessThan(Float.MIN_NORMAL).isGreaterThanOrEqualTo(0f);
                }
            }
        }
        assertThat(checked).isGreaterThan(5000);
    }

    @Test
    void expOfNonPositiveTakesMinusInfinityToZeroAndKeepsNaN() {
        float[] x = new float[S.length()];
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = Float.NaN;
        x[2] = -Float.MAX_VALUE;
        float[] e = SimdLoops.expNonPositive(FloatVector.fromArray(S, x, 0)).toArray();
        assertThat(e[0]).isZero();
        assertThat(e[1]).isNaN();
        assertThat(e[2]).isZero();
        assertThat(e[3]).isEqualTo(1f);
    }
}
