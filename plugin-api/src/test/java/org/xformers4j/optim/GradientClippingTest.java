package org.xformers4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class GradientClippingTest {

    private static double sumOfSquares(float[] g) {
        double s = 0;
        for (float v : g) {
            s += v * (double) v;
        }
        return s;
    }

    @Test
    void scalesTheGlobalNormDownToMaxNorm() {
        SplittableRandom rng = new SplittableRandom(1);
        Tensor a = Tensor.zeros(3, 4).requiresGrad(true);
        Tensor b = Tensor.zeros(5).requiresGrad(true);
        Tensor noGrad = Tensor.zeros(2).requiresGrad(true);
        float[] ga = Grads.random(rng, 12, 2);
        float[] gb = Grads.random(rng, 5, 2);
        Grads.set(a, ga);
        Grads.set(b, gb);
        double norm = Math.sqrt(sumOfSquares(ga) + sumOfSquares(gb));

        double returned = GradientClipping.clipGradNorm(List.of(a, b, noGrad), 1.5);

        assertThat(returned).isCloseTo(norm, within(1e-6 * norm));
        double scale = 1.5 / (norm + 1e-6);
        float[] clippedA = a.grad().toFloatArray();
        for (int i = 0; i < ga.length; i++) {
            assertThat((double) clippedA[i]).isCloseTo(ga[i] * scale, within(1e-6));
        }
        double after = Math.sqrt(sumOfSquares(clippedA) + sumOfSquares(b.grad().toFloatArray()));
        assertThat(after).isCloseTo(1.5, within(1e-5));
        assertThat(noGrad.grad()).isNull();
    }

    @Test
    void leavesSmallGradientsUnchanged() {
        Tensor a = Tensor.zeros(3).requiresGrad(true);
        float[] g = {0.1f, -0.2f, 0.3f};
        Grads.set(a, g);
        double returned = GradientClipping.clipGradNorm(List.of(a), 1.0);
        assertThat(returned).isCloseTo(Math.sqrt(sumOfSquares(g)), within(1e-7));
        assertThat(a.grad().toFloatArray()).containsExactly(g);
    }

    @Test
    void rejectsNonPositiveMaxNorm() {
        assertThatThrownBy(() -> GradientClipping.clipGradNorm(List.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxNorm").hasMessageContaining("0.0");
    }
}
