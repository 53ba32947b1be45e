package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.xformers4j.compute.cpu.CpuBackend;

/** Tensors from host arrays, copying into an existing tensor, and gradients that read as zeros. */
class TensorDataTest {

    @Test
    void ofLaysTheValuesOutRowMajorOnTheGivenBackendAndCopiesThem() {
        CpuBackend backend = new CpuBackend();
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor t = Tensor.of(backend, data, 2, 3);
        data[0] = 99;
        assertThat(t.backend()).isSameAs(backend);
        assertThat(t.get(0, 2)).isEqualTo(3f);
        assertThat(t.get(1, 0)).isEqualTo(4f);
        assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(Tensor.of(backend, new float[] {7}).dim()).isZero();
        assertThatThrownBy(() -> Tensor.of(backend, new float[5], 2, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("5 values").hasMessageContaining("[2, 3]").hasMessageContaining("needs 6");
    }

    @Test
    void copyFromAnArrayOverwritesInPlaceAndReturnsTheTensor() {
        Tensor t = Tensor.zeros(2, 2);
        Tensor shared = t.detach();
        assertThat(t.copyFrom(new float[] {1, 2, 3, 4})).isSameAs(t);
        assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4);
        assertThat(shared.toFloatArray()).containsExactly(1, 2, 3, 4);
        assertThatThrownBy(() -> t.copyFrom(new float[3])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3 values").hasMessageContaining("[2, 2]");
        assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4);
    }

    @Test
    void copyFromATensorNeedsTheSameShapeAndCrossesBackends() {
        Tensor t = Tensor.zeros(2, 3);
        t.copyFrom(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        Tensor elsewhere = Tensor.of(new CpuBackend(), new float[] {6, 5, 4, 3, 2, 1}, 2, 3);
        t.copyFrom(elsewhere);
        assertThat(t.toFloatArray()).containsExactly(6, 5, 4, 3, 2, 1);
        assertThat(t.copyFrom(t).toFloatArray()).containsExactly(6, 5, 4, 3, 2, 1);
        assertThatThrownBy(() -> t.copyFrom(Tensor.zeros(3, 2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 2]").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> t.copyFrom(Tensor.zeros(1, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shapes must be equal");
    }

    @Test
    void copyFromRefusesAComputedTensorAndAParameterWhileRecording() {
        Tensor w = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y = w.mul(2f);
        assertThatThrownBy(() -> y.copyFrom(new float[] {0, 0})).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("computed by");
        assertThatThrownBy(() -> w.copyFrom(new float[] {0, 0})).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("GradMode.noGrad()");
        w.sum().backward();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            w.copyFrom(new float[] {5, 6});
        }
        assertThat(w.toFloatArray()).containsExactly(5, 6);
        assertThat(w.requiresGrad()).isTrue();
        assertThat(w.grad().toFloatArray()).containsExactly(1, 1);
    }

    @Test
    void gradOrZerosReadsZerosUntilAGradientArrivesWithoutStoringThem() {
        CpuBackend backend = new CpuBackend();
        Tensor w = Tensor.of(backend, new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor unused = Tensor.of(backend, new float[] {4, 5}, 2).requiresGrad(true);
        Tensor zeros = w.gradOrZeros();
        assertThat(zeros.shape()).containsExactly(3);
        assertThat(zeros.backend()).isSameAs(backend);
        assertThat(zeros.toFloatArray()).containsExactly(0, 0, 0);
        assertThat(w.grad()).isNull();

        w.mul(w).sum().backward();
        assertThat(w.gradOrZeros()).isSameAs(w.grad());
        assertThat(w.gradOrZeros().toFloatArray()).containsExactly(2, 4, 6);
        assertThat(unused.gradOrZeros().toFloatArray()).containsExactly(0, 0);
        assertThat(Tensor.of(new float[] {1}, 1).gradOrZeros().toFloatArray()).containsExactly(0);
        w.zeroGrad();
        assertThat(w.gradOrZeros().toFloatArray()).containsExactly(0, 0, 0);
    }

    @Test
    void gradOrZerosRefusesAComputedTensorWhichKeepsNoGradient() {
        Tensor w = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y = w.exp();
        y.sum().backward();
        assertThatThrownBy(y::gradOrZeros).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("computed by").hasMessageContaining("only leaf tensors");
    }
}
