package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

class MatmulOpsTest {

    private final SplittableRandom rng = new SplittableRandom(7);

    /** Float64 batched op(A)·op(B) with NumPy broadcasting of the batch dimensions. */
    private static double[] reference(double[] a, int[] as, boolean ta, double[] b, int[] bs, boolean tb) {
        int ar = as.length;
        int br = bs.length;
        int m = ta ? as[ar - 1] : as[ar - 2];
        int k = ta ? as[ar - 2] : as[ar - 1];
        int n = tb ? bs[br - 2] : bs[br - 1];
        int[] aBatch = Arrays.copyOf(as, ar - 2);
        int[] bBatch = Arrays.copyOf(bs, br - 2);
        int[] batch = Shape.broadcast("ref", aBatch, bBatch);
        int[] aStr = Shape.broadcastStrides(aBatch, batch);
        int[] bStr = Shape.broadcastStrides(bBatch, batch);
        int count = Shape.numel(batch);
        double[] out = new double[count * m * n];
        int[] idx = new int[batch.length];
        for (int p = 0; p < count; p++) {
            int ao = 0;
            int bo = 0;
            for (int d = 0; d < batch.length; d++) {
                ao += idx[d] * aStr[d];
                bo += idx[d] * bStr[d];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        double x = a[ao * m * k + (ta ? l * m + i : i * k + l)];
                        double y = b[bo * k * n + (tb ? j * k + l : l * n + j)];
                        s += x * y;
                    }
                    out[p * m * n + i * n + j] = s;
                }
            }
            for (int d = batch.length - 1; d >= 0 && ++idx[d] == batch[d]; d--) {
                idx[d] = 0;
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} x {1} ta={2} tb={3}")
    @CsvSource({
        "'3,4', '4,5', false, false",
        "'4,3', '4,5', true, false",
        "'3,4', '5,4', false, true",
        "'4,3', '5,4', true, true",
        "'2,3,4', '4,5', false, false",
        "'2,3,4', '5,4', false, true",
        "'2,4,3', '4,5', true, false",
        "'2,3,4', '2,4,5', false, false",
        "'3,4', '2,4,5', false, false",
        "'2,1,3,4', '3,4,5', false, false",
        "'2,1,4,3', '1,3,5,4', true, true",
        "'3,4', '2,3,4,5', false, false",
        "'4,3', '2,3,4,5', true, false",
        "'3,4', '2,3,5,4', false, true",
        "'4,3', '3,5,4', true, true"
    })
    void matchesFloat64ReferenceWithGradients(String aShape, String bShape, boolean ta, boolean tb) {
        int[] as = parse(aShape);
        int[] bs = parse(bShape);
        GradCheck.of("matmul", in -> in[0].matmul(in[1], ta, tb),
                ref -> reference(ref[0], as, ta, ref[1], bs, tb),
                GradCheck.input(rng, as), GradCheck.input(rng, bs)).check();
    }

    @Test
    void vectorOperandsFollowTorchMatmul() {
        Tensor v = GradCheck.input(rng, 4);
        Tensor m = GradCheck.input(rng, 4, 3);
        assertThat(v.matmul(m).shape()).containsExactly(3);
        assertThat(m.transpose(0, 1).matmul(v).shape()).containsExactly(3);
        assertThat(v.matmul(v).shape()).isEmpty();
        GradCheck.of("vector-matrix", in -> in[0].matmul(in[1]),
                ref -> reference(ref[0], new int[] {1, 4}, false, ref[1], new int[] {4, 3}, false), v, m).check();
    }

    /** Float64 x Wᵀ + b over the last dimension. */
    private static double[] linearReference(double[] x, double[] w, double[] b) {
        int out = b.length;
        int in = w.length / out;
        int rows = x.length / in;
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    @ParameterizedTest(name = "input {0}")
    @CsvSource({"'4'", "'3,4'", "'2,3,4'"})
    void linearMatchesFloat64ReferenceWithGradients(String xShape) {
        GradCheck.of("linear", in -> Functional.linear(in[0], in[1], in[2]),
                ref -> linearReference(ref[0], ref[1], ref[2]),
                GradCheck.input(rng, parse(xShape)), GradCheck.input(rng, 5, 4), GradCheck.input(rng, 5)).check();
        Tensor x = Tensor.zeros(parse(xShape));
        int[] expected = x.shape();
        expected[expected.length - 1] = 5;
        assertThat(Functional.linear(x, Tensor.zeros(5, 4), Tensor.zeros(5)).shape()).containsExactly(expected);
    }

    @Test
    void linearEqualsTheProductPlusTheBiasAndDoesNotDependOnThreadCount() {
        float[][] results = new float[2][];
        float[] x = new float[2 * 67 * 129];
        float[] w = new float[71 * 129];
        float[] b = new float[71];
        for (float[] a : new float[][] {x, w, b}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rng.nextGaussian();
            }
        }
        int k = 0;
        for (Parallel parallel : new Parallel[] {new Parallel(1), new Parallel(3)}) {
            CpuBackend backend = new CpuBackend(parallel, Sgemm.best());
            Tensor xt = Tensor.of(backend, x, 2, 67, 129);
            Tensor wt = Tensor.of(backend, w, 71, 129);
            Tensor bt = Tensor.of(backend, b, 71);
            results[k++] = Functional.linear(xt, wt, bt).toFloatArray();
            assertThat(results[k - 1]).as("the GEMM accumulates onto the bias: the sum of the same two roundings")
                    .containsExactly(xt.matmul(wt, false, true).add(bt).toFloatArray());
        }
        assertThat(results[1]).containsExactly(results[0]);
    }

    @Test
    void linearRejectsMismatchedShapes() {
        assertThatThrownBy(() -> Functional.linear(Tensor.zeros(2, 3), Tensor.zeros(5, 4), Tensor.zeros(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("linear: input [2, 3], weight [5, 4] and bias [5] must be [..., in], [out, in] and [out]");
        assertThatThrownBy(() -> Functional.linear(Tensor.zeros(2, 4), Tensor.zeros(5, 4), Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias [4]");
    }

    @Test
    void mismatchedInnerSizesNameBothShapes() {
        Tensor a = Tensor.zeros(2, 3);
        Tensor b = Tensor.zeros(4, 5);
        assertThatThrownBy(() -> a.matmul(b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3]").hasMessageContaining("[4, 5]").hasMessageContaining("3 and 4");
        assertThatThrownBy(() -> Tensor.zeros(2, 3, 4).matmul(Tensor.zeros(3, 4, 2)))
                .hasMessageContaining("cannot be broadcast");
    }

    @Test
    void resultDoesNotDependOnThreadCount() {
        CpuBackend one = new CpuBackend(new Parallel(1), Sgemm.best());
        CpuBackend two = new CpuBackend(new Parallel(2), Sgemm.best());
        float[] a = new float[3 * 67 * 129];
        float[] b = new float[129 * 71];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rng.nextGaussian();
        }
        float[] r1 = Tensor.of(one, a, 3, 67, 129).matmul(Tensor.of(one, b, 129, 71)).toFloatArray();
        float[] r2 = Tensor.of(two, a, 3, 67, 129).matmul(Tensor.of(two, b, 129, 71)).toFloatArray();
        assertThat(r2).containsExactly(r1);
    }

    @Test
    void theGradientOfOneLeftMatrixAgainstABatchFormsNoBufferPerItem() {
        // E [64, 512] · K [8, 512, 4]: a buffer of the 8 items' gradients would be 8 · 64 · 512 floats
        Tensor e = GradCheck.input(rng, 64, 512);
        Tensor k = Tensor.randn(rng, 8, 512, 4);
        Tensor out = e.matmul(k);
        MemoryStats memory = e.backend().memory();
        memory.resetPeak();
        out.sum().backward();
        long perItemBuffer = 8L * 64 * 512 * Float.BYTES;
        assertThat(memory.allocatedBytesSinceReset()).as("bytes the backward allocates")
                .isLessThan(perItemBuffer / 2);
        assertThat(e.grad().shape()).containsExactly(64, 512);
    }

    private static int[] parse(String shape) {
        return Arrays.stream(shape.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    }
}
