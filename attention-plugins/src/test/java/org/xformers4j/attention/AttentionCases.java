package org.xformers4j.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * What the attention tests' cases share: random inputs, the context, the
 * {@link AttentionProblem} the float64 {@link AttentionReference} computes, and the shape checks
 * every mechanism makes.
 */
public final class AttentionCases {

    private AttentionCases() {
    }

    /**
     * q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] and, with a {@code biasShape}, the bias:
     * standard normal leaves that require grad.
     */
    public static Tensor[] inputs(long seed, int batch, int heads, int queryLength, int keyLength, int headDim,
                                  int valueDim, int[] biasShape) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = GradCheck.input(rng, batch, heads, queryLength, headDim);
        Tensor k = GradCheck.input(rng, batch, heads, keyLength, headDim);
        Tensor v = GradCheck.input(rng, batch, heads, keyLength, valueDim);
        return biasShape == null ? new Tensor[] {q, k, v} : new Tensor[] {q, k, v, GradCheck.input(rng, biasShape)};
    }

    /** The [B, Lk] key padding mask, 1 where {@code padded[b][j]}; null for null. */
    public static float[] paddingMask(boolean[][] padded) {
        if (padded == null) {
            return null;
        }
        int keyLength = padded[0].length;
        float[] mask = new float[padded.length * keyLength];
        for (int b = 0; b < padded.length; b++) {
            for (int j = 0; j < keyLength; j++) {
                mask[b * keyLength + j] = padded[b][j] ? 1f : 0f;
            }
        }
        return mask;
    }

    /** A context with causality and the keys {@code padded[b][j]} masked ({@code padded} may be null). */
    public static AttentionContext paddedContext(boolean[][] padded, boolean causal) {
        return context(causal, null, paddingMask(padded), padded == null ? 1 : padded[0].length).build();
    }

    /** [batch][keyLength] with the last {@code count} keys of the last batch element padded. */
    public static boolean[][] padLast(int batch, int keyLength, int count) {
        boolean[][] padded = new boolean[batch][keyLength];
        for (int j = keyLength - count; j < keyLength; j++) {
            padded[batch - 1][j] = true;
        }
        return padded;
    }

    /**
     * A copy of {@code t} [B, H, L, F] in which every position {@code padded[b][j]} has
     * {@code shift + f·perFeature} added to its feature f: what padded keys or values are changed by
     * to show that they have no influence.
     */
    public static Tensor shiftPadded(Tensor t, boolean[][] padded, float shift, float perFeature) {
        int[] shape = t.shape();
        float[] data = t.toFloatArray();
        for (int b = 0; b < shape[0]; b++) {
            for (int h = 0; h < shape[1]; h++) {
                for (int j = 0; j < shape[2]; j++) {
                    if (padded[b][j]) {
                        for (int f = 0; f < shape[3]; f++) {
                            data[((b * shape[1] + h) * shape[2] + j) * shape[3] + f] += shift + f * perFeature;
                        }
                    }
                }
            }
        }
        return Tensor.of(data, shape);
    }

    /**
     * Asserts that every element of {@code actual} is within {@code tolerance · (1 + |expected|)} of
     * the float64 {@code expected}, naming the first that is not.
     */
    public static void assertElementsClose(float[] actual, double[] expected, double tolerance) {
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("element %d", e).isCloseTo(expected[e],
                    Offset.offset(tolerance * (1 + Math.abs(expected[e]))));
        }
    }

    /**
     * Bytes the backend allocates for one forward and backward of {@code attention} at length n
     * (B=1, H=2, D=Dv={@code headDim}, standard-normal inputs), with every byte counted whether or
     * not it was freed since: what the memory tests compare with the size of an N×N or N×D×D
     * buffer, or between lengths and head sizes.
     */
    public static long allocatedBytes(AttentionMechanism attention, int n, int headDim, boolean causal) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor q = Tensor.randn(rng, 1, 2, n, headDim).requiresGrad(true);
        Tensor k = Tensor.randn(rng, 1, 2, n, headDim).requiresGrad(true);
        Tensor v = Tensor.randn(rng, 1, 2, n, headDim).requiresGrad(true);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        attention.forward(q, k, v, AttentionContext.builder().causal(causal).build()).sum().backward();
        return memory.allocatedBytesSinceReset();
    }

    /** {@code x} widened to double, for float64 references. */
    public static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }

    /** A context builder with causality, {@code bias} (may be null) and the [B, Lk] {@code mask} (may be null). */
    public static AttentionContext.Builder context(boolean causal, Tensor bias, float[] mask, int keyLength) {
        AttentionContext.Builder b = AttentionContext.builder().causal(causal).bias(bias);
        if (mask != null) {
            b.keyPaddingMask(Tensor.of(mask, mask.length / keyLength, keyLength));
        }
        return b;
    }

    /**
     * The problem {@link AttentionReference} computes: {@code scale} 0 for 1/sqrt(headDim), the bias
     * shape (rank 1 to 4, or null) aligned to the end of [B, H, Lq, Lk], dropout drawn from
     * {@code dropoutSeed}.
     */
    public static AttentionProblem problem(int batch, int heads, int queryLength, int keyLength, int headDim,
                                           int valueDim, float scale, boolean causal, int[] biasShape,
                                           float dropout, long dropoutSeed) {
        int[] shape = null;
        if (biasShape != null) {
            shape = new int[] {1, 1, 1, 1};
            System.arraycopy(biasShape, 0, shape, 4 - biasShape.length, biasShape.length);
        }
        return new AttentionProblem(batch, heads, queryLength, keyLength, headDim, valueDim,
                scale == 0f ? (float) (1 / Math.sqrt(headDim)) : scale, causal, shape, dropout, dropoutSeed);
    }

    /**
     * Bytes the backend allocates for one forward and backward of {@code attention} on standard-normal
     * q, k, v [1, 1, n, 8] (drawn from seed n), without a mask: what the memory tests compare across lengths.
     */
    public static long allocatedBytes(AttentionMechanism attention, int n) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor q = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        Tensor k = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        Tensor v = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        attention.forward(q, k, v, AttentionContext.none()).sum().backward();
        return memory.allocatedBytesSinceReset();
    }

    /** A copy of [B, H, L, D] {@code t} with every element at sequence position {@code row} set to {@code value}. */
    public static Tensor withRowReplaced(Tensor t, int row, float value) {
        float[] data = t.toFloatArray();
        int length = t.size(2);
        int width = t.size(3);
        for (int bh = 0; bh < t.size(0) * t.size(1); bh++) {
            Arrays.fill(data, (bh * length + row) * width, (bh * length + row + 1) * width, value);
        }
        return Tensor.of(data, t.shape());
    }

    /**
     * Asserts that {@code attention}, called {@code name} in its messages, rejects for q [2, 3, 4, 8],
     * k [2, 3, 5, 8], v [2, 3, 5, 6] a key of another headDim, a bias that does not broadcast to the
     * scores and a key padding mask of the wrong length, naming the shapes.
     */
    public static void assertRejectsMismatchedShapes(AttentionMechanism attention, String name) {
        Tensor q = Tensor.zeros(2, 3, 4, 8);
        Tensor k = Tensor.zeros(2, 3, 5, 8);
        Tensor v = Tensor.zeros(2, 3, 5, 6);
        assertThatThrownBy(() -> attention.forward(q, Tensor.zeros(2, 3, 5, 7), v, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name + ": query [2, 3, 4, 8] and key [2, 3, 5, 7] must have the same headDim");
        AttentionContext badBias = AttentionContext.builder().bias(Tensor.zeros(4, 4)).build();
        assertThatThrownBy(() -> attention.forward(q, k, v, badBias))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bias [4, 4] does not broadcast to the scores")
                .hasMessageContaining("[2, 3, 4, 5]");
        AttentionContext badMask = AttentionContext.builder().keyPaddingMask(Tensor.zeros(2, 4)).build();
        assertThatThrownBy(() -> attention.forward(q, k, v, badMask))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keyPaddingMask [2, 4] must be [batch, keyLength] = [2, 5]");
    }
}
