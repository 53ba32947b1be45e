package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AutogradTest {

    private static Tensor leaf(float[] values, int... shape) {
        return Tensor.of(values, shape).requiresGrad(true);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        Tensor w = leaf(new float[] {1, 2, 3}, 3);
        Tensor x = Tensor.of(new float[] {4, 5, 6}, 3);
        w.matmul(x).backward();
        assertThat(w.grad().toFloatArray()).containsExactly(4, 5, 6);
        w.matmul(x).backward();
        assertThat(w.grad().toFloatArray()).containsExactly(8, 10, 12);
        w.zeroGrad();
        assertThat(w.grad()).isNull();
        assertThat(x.grad()).isNull();
    }

    @Test
    void sharedSubexpressionReceivesTheSumOfItsGradients() {
        // y = (w·w) with w used twice in one node and again through a reshape: dy/dw = 2w per use.
        Tensor w = leaf(new float[] {1, -2}, 2);
        Tensor r = w.reshape(1, 2);
        Tensor y = r.matmul(w.reshape(2, 1)).reshape(1);
        y.backward();
        assertThat(w.grad().toFloatArray()).containsExactly(2, -4);
    }

    @Test
    void backwardFromANonScalarTakesTheOutputGradient() {
        Tensor a = leaf(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor t = a.transpose(0, 1);
        t.backward(Tensor.of(new float[] {1, 10, 100, 1000}, 2, 2));
        assertThat(a.grad().toFloatArray()).containsExactly(1, 100, 10, 1000);
        assertThatThrownBy(t::backward).hasMessageContaining("one-element tensor").hasMessageContaining("[2, 2]");
        assertThatThrownBy(() -> t.backward(Tensor.zeros(4))).hasMessageContaining("[4]");
    }

    @Test
    void noGradScopeRecordsNothingAndRestoresTheMode() {
        Tensor a = leaf(new float[] {1, 2}, 2);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor b = a.reshape(2, 1);
            assertThat(b.requiresGrad()).isFalse();
            assertThat(b.isLeaf()).isTrue();
            assertThat(GradMode.isEnabled()).isFalse();
        }
        assertThat(GradMode.isEnabled()).isTrue();
        assertThat(a.reshape(2, 1).gradFnName()).isEqualTo("reshape");
    }

    @Test
    void detachCutsTheGraphButSharesValues() {
        Tensor a = leaf(new float[] {1, 2}, 2);
        Tensor d = a.reshape(2, 1).detach();
        assertThat(d.requiresGrad()).isFalse();
        assertThat(d.toFloatArray()).containsExactly(1, 2);
        assertThatThrownBy(() -> d.backward(Tensor.zeros(2, 1))).hasMessageContaining("does not require grad");
        assertThatThrownBy(() -> a.reshape(2).requiresGrad(false)).hasMessageContaining("leaf");
    }

    @Test
    void customFunctionRunsItsOwnBackward() {
        /** y = 3x with a hand-written backward. */
        final class Triple extends CustomFunction {
            @Override
            protected Tensor forward(Tensor... inputs) {
                float[] v = inputs[0].toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] *= 3;
                }
                assertThat(GradMode.isEnabled()).isFalse();
                return Tensor.of(v, inputs[0].shape());
            }

            @Override
            protected Tensor[] backward(Tensor gradOutput) {
                float[] g = gradOutput.toFloatArray();
                for (int i = 0; i < g.length; i++) {
                    g[i] *= 3;
                }
                return new Tensor[] {Tensor.of(g, gradOutput.shape())};
            }
        }
        Tensor x = GradCheck.input(new java.util.SplittableRandom(3), 2, 3);
        GradCheck.of("custom", in -> new Triple().apply(in[0]), ref -> {
            double[] out = ref[0].clone();
            for (int i = 0; i < out.length; i++) {
                out[i] *= 3;
            }
            return out;
        }, x).check();
        Triple once = new Triple();
        once.apply(x);
        assertThatThrownBy(() -> once.apply(x)).hasMessageContaining("already applied");
        assertThat(new Triple().apply(x).gradFnName()).isEqualTo("Triple");
    }

    @Test
    void closedTensorsFailClearly() {
        Tensor t = Tensor.zeros(3);
        t.close();
        assertThatThrownBy(t::toFloatArray).hasMessageContaining("after close()");
    }
}
