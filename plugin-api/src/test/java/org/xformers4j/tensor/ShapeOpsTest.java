package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ShapeOpsTest {

    private final SplittableRandom rng = new SplittableRandom(11);

    /** Float64 permute of a row-major array. */
    private static double[] permuteRef(double[] x, int[] shape, int[] perm) {
        int[] outShape = new int[shape.length];
        for (int i = 0; i < perm.length; i++) {
            outShape[i] = shape[perm[i]];
        }
        int[] inStrides = Shape.strides(shape);
        double[] out = new double[x.length];
        int[] idx = new int[shape.length];
        for (int o = 0; o < out.length; o++) {
            int src = 0;
            for (int d = 0; d < perm.length; d++) {
                src += idx[d] * inStrides[perm[d]];
            }
            out[o] = x[src];
            for (int d = outShape.length - 1; d >= 0 && ++idx[d] == outShape[d]; d--) {
                idx[d] = 0;
            }
        }
        return out;
    }

    /** Float64 narrow along dim of a row-major array. */
    private static double[] narrowRef(double[] x, int[] shape, int dim, int start, int length) {
        int outer = Shape.outer(shape, dim);
        int inner = Shape.inner(shape, dim);
        double[] out = new double[outer * length * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(x, (o * shape[dim] + start) * inner, out, o * length * inner, length * inner);
        }
        return out;
    }

    @Test
    void reshapeInfersOneSizeAndKeepsGradients() {
        Tensor x = GradCheck.input(rng, 2, 3, 4);
        assertThat(x.reshape(4, -1).shape()).containsExactly(4, 6);
        GradCheck.of("reshape", in -> in[0].reshape(6, -1), ref -> ref[0].clone(), x).check();
        assertThatThrownBy(() -> x.reshape(5, -1)).hasMessageContaining("[5, -1]");
        assertThatThrownBy(() -> x.reshape(-1, -1)).hasMessageContaining("only one size may be -1");
        assertThatThrownBy(() -> x.reshape(7)).hasMessageContaining("[2, 3, 4]").hasMessageContaining("[7]");
    }

    @Test
    void squeezeAndUnsqueeze() {
        Tensor x = GradCheck.input(rng, 2, 3);
        assertThat(x.unsqueeze(0).shape()).containsExactly(1, 2, 3);
        assertThat(x.unsqueeze(-1).shape()).containsExactly(2, 3, 1);
        assertThat(x.unsqueeze(1).squeeze(1).shape()).containsExactly(2, 3);
        assertThatThrownBy(() -> x.squeeze(0)).hasMessageContaining("has size 2, not 1");
    }

    @Test
    void permuteAndTransposeMatchReference() {
        int[] shape = {2, 3, 4};
        GradCheck.of("permute", in -> in[0].permute(2, 0, 1),
                ref -> permuteRef(ref[0], shape, new int[] {2, 0, 1}), GradCheck.input(rng, shape)).check();
        GradCheck.of("transpose", in -> in[0].transpose(-1, -2),
                ref -> permuteRef(ref[0], shape, new int[] {0, 2, 1}), GradCheck.input(rng, shape)).check();
        Tensor x = Tensor.zeros(shape);
        assertThatThrownBy(() -> x.permute(0, 0, 1)).hasMessageContaining("repeat dimension 0");
        assertThatThrownBy(() -> x.transpose(0, 3)).hasMessageContaining("dim 3 is out of range");
    }

    @Test
    void narrowAndSliceOnEveryDim() {
        int[] shape = {3, 4, 5};
        for (int dim = 0; dim < 3; dim++) {
            int d = dim;
            GradCheck.of("narrow dim " + d, in -> in[0].narrow(d, 1, 2),
                    ref -> narrowRef(ref[0], shape, d, 1, 2), GradCheck.input(rng, shape)).check();
        }
        GradCheck.of("slice negative", in -> in[0].slice(-1, -3, -1),
                ref -> narrowRef(ref[0], shape, 2, 2, 2), GradCheck.input(rng, shape)).check();
        assertThatThrownBy(() -> Tensor.zeros(shape).narrow(1, 3, 2)).hasMessageContaining("start 3 length 2");
    }

    @Test
    void concatSplitAndStackRoundTrip() {
        Tensor a = GradCheck.input(rng, 2, 3);
        Tensor b = GradCheck.input(rng, 2, 1);
        GradCheck.of("concat", in -> Tensor.concat(1, in[0], in[1]), ref -> {
            double[] out = new double[8];
            for (int r = 0; r < 2; r++) {
                System.arraycopy(ref[0], r * 3, out, r * 4, 3);
                out[r * 4 + 3] = ref[1][r];
            }
            return out;
        }, a, b).check();

        Tensor x = GradCheck.input(rng, 5, 2);
        List<Tensor> parts = x.split(2, 0);
        assertThat(parts).extracting(t -> t.shape()[0]).containsExactly(2, 2, 1);
        assertThat(Tensor.concat(0, parts.toArray(new Tensor[0])).toFloatArray()).containsExactly(x.toFloatArray());

        GradCheck.of("stack", in -> Tensor.stack(1, in[0], in[1]), ref -> {
            double[] out = new double[12];
            for (int r = 0; r < 2; r++) {
                System.arraycopy(ref[0], r * 3, out, r * 6, 3);
                System.arraycopy(ref[1], r * 3, out, r * 6 + 3, 3);
            }
            return out;
        }, GradCheck.input(rng, 2, 3), GradCheck.input(rng, 2, 3)).check();

        assertThatThrownBy(() -> Tensor.concat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 4)))
                .hasMessageContaining("tensor 1 has shape [2, 4]");
        assertThatThrownBy(() -> Tensor.stack(0, Tensor.zeros(2, 3), Tensor.zeros(3, 2)))
                .hasMessageContaining("tensor 1 has shape [3, 2]");
    }

    @Test
    void expandBroadcastsAndSumsGradientsBack() {
        GradCheck.of("expand", in -> in[0].expand(2, 3, 4), ref -> {
            double[] out = new double[24];
            for (int i = 0; i < 24; i++) {
                out[i] = ref[0][(i / 4) % 3];
            }
            return out;
        }, GradCheck.input(rng, 3, 1)).check();
        assertThatThrownBy(() -> Tensor.zeros(3, 2).expand(3, 4)).hasMessageContaining("cannot be broadcast");
    }
}
