package org.xformers4j.attention.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.attention.AttentionCases.withRowReplaced;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.xformers4j.attention.AttentionCases;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * One banded attention problem for the tests of {@link LocalAttention} and
 * {@link SlidingWindowAttention}: sizes, padded keys (per batch row, or null), causal or not, the
 * shape of a bias (or null), and which key positions each query position may see. It checks a
 * mechanism against {@link FullAttention} given the band as an additive bias of -inf, and against a
 * float64 reference with finite-difference gradients.
 */
record BandedCase(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim,
                  boolean[][] padded, boolean causal, int[] biasShape, Band band) {

    /** Whether the query at key position {@code query} may see key position {@code key} (before causality and padding). */
    @FunctionalInterface
    interface Band {
        boolean visible(int query, int key);
    }

    static BandedCase of(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim, Band band) {
        return new BandedCase(batch, heads, queryLength, keyLength, headDim, valueDim, null, false, null, band);
    }

    BandedCase withPadding(boolean[][] mask) {
        return new BandedCase(batch, heads, queryLength, keyLength, headDim, valueDim, mask, causal, biasShape, band);
    }

    BandedCase withCausal() {
        return new BandedCase(batch, heads, queryLength, keyLength, headDim, valueDim, padded, true, biasShape, band);
    }

    BandedCase withBias(int... shape) {
        return new BandedCase(batch, heads, queryLength, keyLength, headDim, valueDim, padded, causal, shape, band);
    }

    /** Every key padded from {@code from} on in batch row b, for each b. */
    static boolean[][] paddedFrom(int keyLength, int... from) {
        boolean[][] mask = new boolean[from.length][keyLength];
        for (int b = 0; b < from.length; b++) {
            Arrays.fill(mask[b], from[b], keyLength, true);
        }
        return mask;
    }

    /** q, k, v and, with a bias, the bias: standard normal leaves that require grad. */
    Tensor[] inputs(long seed) {
        return AttentionCases.inputs(seed, batch, heads, queryLength, keyLength, headDim, valueDim, biasShape);
    }

    /** The context: causality, padding, and {@code bias} (may be null). */
    AttentionContext context(Tensor bias) {
        return AttentionCases.context(causal, bias, AttentionCases.paddingMask(padded), keyLength).build();
    }

    Tensor forward(AttentionMechanism mechanism, Tensor[] in) {
        return mechanism.forward(in[0], in[1], in[2], context(in.length > 3 ? in[3] : null));
    }

    /** Full attention with the band as an additive bias: 0 inside, -inf outside, plus the case's bias. */
    Tensor viaFull(Tensor[] in) {
        float[] outside = new float[queryLength * keyLength];
        for (int i = 0; i < queryLength; i++) {
            for (int j = 0; j < keyLength; j++) {
                outside[i * keyLength + j] = band.visible(keyLength - queryLength + i, j) ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        Tensor bandBias = Tensor.of(outside, 1, 1, queryLength, keyLength);
        Tensor bias = in.length > 3 ? in[3].add(bandBias) : bandBias;
        return new FullAttention(0f).forward(in[0], in[1], in[2], context(bias));
    }

    /** Checks {@code mechanism} against {@link #viaFull} to float32 rounding. */
    void assertMatchesFull(String name, AttentionMechanism mechanism, long seed) {
        Tensor[] in = inputs(seed);
        Tensor actual = forward(mechanism, in);
        assertThat(actual.shape()).as(name).containsExactly(batch, heads, queryLength, valueDim);
        float[] expected = viaFull(in).toFloatArray();
        float[] got = actual.toFloatArray();
        for (int e = 0; e < got.length; e++) {
            assertThat(got[e]).as("%s, element %d", name, e).isCloseTo(expected[e], within(2e-5f));
        }
    }

    /** Checks values and finite-difference gradients of {@code mechanism} against {@link #reference}. */
    void gradCheck(String name, AttentionMechanism mechanism, long seed) {
        GradCheck.of(name, in -> forward(mechanism, in), this::reference, inputs(seed)).check();
    }

    /** The banded attention in float64 ({@link AttentionReference}); a query with every key masked gets zeros. */
    double[] reference(double[][] in) {
        AttentionProblem p = AttentionCases.problem(batch, heads, queryLength, keyLength, headDim, valueDim, 0f,
                causal, biasShape, 0f, 0L);
        return AttentionReference.forward(p, in[0], in[1], in[2], in.length > 3 ? in[3] : null,
                AttentionCases.paddingMask(padded), band::visible);
    }

    /**
     * Asserts that with a causal context, changing the key and value at position p changes no
     * output of a query before p (self-attention, Lq = Lk), and that the gradient of the first
     * queries' outputs reaches no later key.
     */
    void assertNoCausalLeakage(AttentionMechanism mechanism, long seed) {
        Tensor[] in = inputs(seed);
        float[] before = forward(mechanism, in).toFloatArray();
        for (int changed = 1; changed < keyLength; changed++) {
            Tensor[] altered = {in[0], withRowReplaced(in[1], changed, 100f), withRowReplaced(in[2], changed, -50f)};
            float[] after = forward(mechanism, altered).toFloatArray();
            for (int bh = 0; bh < batch * heads; bh++) {
                for (int i = 0; i < changed; i++) {
                    for (int e = 0; e < valueDim; e++) {
                        int at = (bh * queryLength + i) * valueDim + e;
                        assertThat(after[at]).as("query %d after changing key %d", i, changed).isEqualTo(before[at]);
                    }
                }
            }
        }
        int first = queryLength / 2;
        forward(mechanism, in).narrow(2, 0, first).sum().backward();
        float[] keyGrad = in[1].grad().toFloatArray();
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int j = first; j < keyLength; j++) {
                for (int d = 0; d < headDim; d++) {
                    assertThat(keyGrad[(bh * keyLength + j) * headDim + d]).as("d(queries < %d)/d key %d", first, j)
                            .isZero();
                }
            }
        }
    }

    /** Bytes the backend allocates for one causal forward and backward of {@code attention} at length {@code n} (B=1, H=2, D=16). */
    static long allocatedBytes(AttentionMechanism attention, int n) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor q = Tensor.randn(rng, 1, 2, n, 16).requiresGrad(true);
        Tensor k = Tensor.randn(rng, 1, 2, n, 16).requiresGrad(true);
        Tensor v = Tensor.randn(rng, 1, 2, n, 16).requiresGrad(true);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        attention.forward(q, k, v, AttentionContext.builder().causal(true).build()).sum().backward();
        return memory.allocatedBytesSinceReset();
    }
}
