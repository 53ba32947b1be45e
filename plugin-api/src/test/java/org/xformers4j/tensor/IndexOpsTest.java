package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

class IndexOpsTest {

    private static final int[] SHAPE = {3, 4, 5};

    private final SplittableRandom rng = new SplittableRandom(11);

    /** Flat row-major offset of index vector i in shape. */
    private static int offset(int[] i, int[] shape) {
        int flat = 0;
        for (int d = 0; d < shape.length; d++) {
            flat = flat * shape[d] + i[d];
        }
        return flat;
    }

    /** Advances a row-major index vector; false after the last one. */
    private static boolean next(int[] i, int[] shape) {
        for (int d = shape.length - 1; d >= 0; d--) {
            if (++i[d] < shape[d]) {
                return true;
            }
            i[d] = 0;
        }
        return false;
    }

    /** Random whole-number indices in [0, bound) laid out in {@code shape}, as a float tensor. */
    private Tensor randomIndex(int bound, int... shape) {
        float[] values = new float[Shape.numel(shape)];
        for (int e = 0; e < values.length; e++) {
            values[e] = rng.nextInt(bound);
        }
        return Tensor.of(values, shape);
    }

    private static int[] withSize(int[] shape, int dim, int size) {
        int[] out = shape.clone();
        out[dim] = size;
        return out;
    }

    @ParameterizedTest(name = "dim {0}")
    @ValueSource(ints = {0, 1, 2, -1})
    void indexSelectMatchesReferenceWithRepeatedIndices(int dim) {
        int d = dim < 0 ? dim + SHAPE.length : dim;
        int[] index = {SHAPE[d] - 1, 0, SHAPE[d] - 1, 1, 0};
        int[] outShape = withSize(SHAPE, d, index.length);
        GradCheck.of("indexSelect", in -> in[0].indexSelect(dim, index), ref -> {
            double[] out = new double[Shape.numel(outShape)];
            int[] i = new int[outShape.length];
            do {
                int[] source = i.clone();
                source[d] = index[i[d]];
                out[offset(i, outShape)] = ref[0][offset(source, SHAPE)];
            } while (next(i, outShape));
            return out;
        }, GradCheck.input(rng, SHAPE)).check();
    }

    @ParameterizedTest(name = "dim {0}")
    @ValueSource(ints = {0, 1, 2})
    void gatherMatchesReference(int dim) {
        int[] indexShape = withSize(SHAPE, dim, 6);
        Tensor index = randomIndex(SHAPE[dim], indexShape);
        float[] idx = index.toFloatArray();
        GradCheck.of("gather", in -> in[0].gather(dim, index), ref -> {
            double[] out = new double[idx.length];
            int[] i = new int[indexShape.length];
            do {
                int[] source = i.clone();
                source[dim] = (int) idx[offset(i, indexShape)];
                out[offset(i, indexShape)] = ref[0][offset(source, SHAPE)];
            } while (next(i, indexShape));
            return out;
        }, GradCheck.input(rng, SHAPE)).check();
    }

    @ParameterizedTest(name = "dim {0}")
    @ValueSource(ints = {0, 1, 2})
    void scatterAddMatchesReferenceWithGradientsToBothOperands(int dim) {
        int[] indexShape = withSize(SHAPE, dim, 7);
        Tensor index = randomIndex(SHAPE[dim], indexShape);
        float[] idx = index.toFloatArray();
        GradCheck.of("scatterAdd", in -> in[0].scatterAdd(dim, index, in[1]), ref -> {
            double[] out = ref[0].clone();
            int[] i = new int[indexShape.length];
            do {
                int[] target = i.clone();
                target[dim] = (int) idx[offset(i, indexShape)];
                out[offset(target, SHAPE)] += ref[1][offset(i, indexShape)];
            } while (next(i, indexShape));
            return out;
        }, GradCheck.input(rng, SHAPE), GradCheck.input(rng, indexShape)).check();
    }

    @Test
    void scatterAddAccumulatesCollidingIndices() {
        Tensor x = Tensor.zeros(2, 3);
        Tensor index = Tensor.of(new float[] {1, 1, 1, 0, 0, 0}, 2, 3);
        Tensor src = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertThat(x.scatterAdd(1, index, src).toFloatArray()).containsExactly(0, 6, 0, 15, 0, 0);
        assertThat(x.scatterAdd(0, index, src).toFloatArray()).containsExactly(4, 5, 6, 1, 2, 3);
    }

    @Test
    void embeddingLooksUpRowsAndSumsGradientsOfRepeatedIds() {
        int[] ids = {1, 3, 1, 1, 0, 4};
        int[] idsShape = {2, 3};
        int dim = 3;
        GradCheck.of("embedding", in -> Functional.embedding(in[0], ids, idsShape), ref -> {
            double[] out = new double[ids.length * dim];
            for (int t = 0; t < ids.length; t++) {
                System.arraycopy(ref[0], ids[t] * dim, out, t * dim, dim);
            }
            return out;
        }, GradCheck.input(rng, 5, dim)).check();

        Tensor weight = GradCheck.input(rng, 5, dim);
        Tensor out = Functional.embedding(weight, ids, idsShape);
        assertThat(out.shape()).containsExactly(2, 3, dim);
        out.backward(Tensor.full(1f, 2, 3, dim));
        assertThat(weight.grad().toFloatArray()).containsExactly(1, 1, 1, 3, 3, 3, 0, 0, 0, 1, 1, 1, 1, 1, 1);
    }

    @Test
    void badIndicesAreRejectedWithTheValuePositionAndRange() {
        Tensor x = Tensor.zeros(SHAPE);
        assertThatThrownBy(() -> x.indexSelect(1, new int[] {0, 4}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("indexSelect: index 4 at position 1 is out of range [0, 4)")
                .hasMessageContaining("[3, 4, 5]");
        assertThatThrownBy(() -> x.indexSelect(3, new int[] {0}))
                .hasMessageContaining("indexSelect: dim 3 is out of range");
        Tensor half = Tensor.full(0.5f, withSize(SHAPE, 2, 2));
        assertThatThrownBy(() -> x.gather(2, half))
                .hasMessageContaining("gather: index value 0.5 at position [0, 0, 0] is not a whole number in [0, 5)");
        float[] nines = new float[2 * 4 * 5];
        nines[5] = 9;
        Tensor far = Tensor.of(nines, 2, 4, 5);
        assertThatThrownBy(() -> x.gather(0, far))
                .hasMessageContaining("gather: index value 9.0 at position [0, 1, 0] is not a whole number in [0, 3)");
        assertThatThrownBy(() -> x.gather(0, Tensor.zeros(2, 3, 5)))
                .hasMessageContaining("gather: index shape [2, 3, 5] must equal x shape [3, 4, 5] in every dim but 0");
        assertThatThrownBy(() -> x.gather(0, Tensor.zeros(2, 4)))
                .hasMessageContaining("gather: index shape [2, 4]");
        assertThatThrownBy(() -> x.scatterAdd(0, Tensor.zeros(2, 4, 5), Tensor.zeros(3, 4, 5)))
                .hasMessageContaining("scatterAdd: src shape [3, 4, 5] must equal index shape [2, 4, 5]");
    }

    @Test
    void badEmbeddingArgumentsAreRejected() {
        Tensor weight = Tensor.zeros(10, 4);
        assertThatThrownBy(() -> Functional.embedding(weight, new int[] {1, 10, 2}, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embedding: token id 10 at position 1 is out of range [0, 10)")
                .hasMessageContaining("weight of shape [10, 4]");
        assertThatThrownBy(() -> Functional.embedding(weight, new int[] {-1}, 1))
                .hasMessageContaining("token id -1 at position 0");
        assertThatThrownBy(() -> Functional.embedding(weight, new int[] {1, 2, 3}, 2, 2))
                .hasMessageContaining("embedding: 3 ids do not fill ids shape [2, 2]");
        assertThatThrownBy(() -> Functional.embedding(Tensor.zeros(10), new int[] {1}, 1))
                .hasMessageContaining("embedding: weight must be [vocab, dim], got shape [10]");
    }

    @Test
    void addingKernelsGiveTheSameBitsOnOneAndTwoThreads() {
        ComputeBackend one = new CpuBackend(new Parallel(1), Sgemm.best());
        ComputeBackend two = new CpuBackend(new Parallel(2), Sgemm.best());
        int vocab = 50;
        int dim = 512;
        int[] ids = new int[4000];
        for (int t = 0; t < ids.length; t++) {
            ids[t] = rng.nextInt(vocab);
        }
        float[] gradOut = new float[ids.length * dim];
        for (int e = 0; e < gradOut.length; e++) {
            gradOut[e] = (float) rng.nextGaussian();
        }
        float[] index = new float[8 * 300 * 64];
        for (int e = 0; e < index.length; e++) {
            index[e] = rng.nextInt(20);
        }
        float[] src = new float[index.length];
        for (int e = 0; e < src.length; e++) {
            src[e] = (float) rng.nextGaussian();
        }
        float[][] results = new float[2][];
        float[][] scattered = new float[2][];
        ComputeBackend[] backends = {one, two};
        for (int b = 0; b < 2; b++) {
            Tensor weight = Tensor.zeros(backends[b], vocab, dim).requiresGrad(true);
            Functional.embedding(weight, ids, ids.length).backward(Tensor.of(backends[b], gradOut, ids.length, dim));
            results[b] = weight.grad().toFloatArray();
            scattered[b] = Tensor.zeros(backends[b], 8, 20, 64).scatterAdd(1,
                    Tensor.of(backends[b], index, 8, 300, 64), Tensor.of(backends[b], src, 8, 300, 64)).toFloatArray();
        }
        assertThat(results[1]).isEqualTo(results[0]);
        assertThat(scattered[1]).isEqualTo(scattered[0]);
    }
}
