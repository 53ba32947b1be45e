package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.fail;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.AttentionCases;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class FlashAttentionTest {

    /**
     * Sizes, the bias shape (rank 1 to 4, or null), causal or not, and whether some keys (and
     * every key of the last batch row, with {@code padAll}) are padded.
     */
    private record Case(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim,
                        int[] biasShape, boolean causal, boolean padded, boolean padAll) {

        static Case of(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, null, false, false, false);
        }

        Case withBias(int... shape) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, shape, causal, padded, padAll);
        }

        Case withCausal() {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, biasShape, true, padded, padAll);
        }

        Case withPadding(boolean everyKeyOfLastRow) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, biasShape, causal, true,
                    everyKeyOfLastRow);
        }

        Tensor[] inputs(long seed) {
            return AttentionCases.inputs(seed, batch, heads, queryLength, keyLength, headDim, valueDim, biasShape);
        }

        float[] mask() {
            if (!padded) {
                return null;
            }
            float[] mask = new float[batch * keyLength];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < keyLength; j++) {
                    mask[b * keyLength + j] = (padAll && b == batch - 1) || (j * 7 + b * 3) % 5 == 1 ? 1f : 0f;
                }
            }
            return mask;
        }

        AttentionContext context(Tensor[] in, float dropout, long seed) {
            return AttentionCases.context(causal, in.length > 3 ? in[3] : null, mask(), keyLength)
                    .dropout(dropout, new SplittableRandom(seed)).build();
        }

        /** The problem the reference computes, with the dropout seed flash draws from SplittableRandom(seed). */
        AttentionProblem problem(float scale, float dropout, long seed) {
            return AttentionCases.problem(batch, heads, queryLength, keyLength, headDim, valueDim, scale, causal,
                    biasShape, dropout, dropout > 0f ? new SplittableRandom(seed).nextLong() : 0L);
        }

        void gradCheck(String name, float scale, float dropout, long seed) {
            AttentionProblem p = problem(scale, dropout, seed);
            float[] mask = mask();
            GradCheck.of(name,
                    in -> new FlashAttention(scale).forward(in[0], in[1], in[2], context(in, dropout, seed)),
                    ref -> AttentionReference.forward(p, ref[0], ref[1], ref[2], ref.length > 3 ? ref[3] : null, mask),
                    inputs(seed)).check();
        }
    }

    @Test
    void equalsFullAttentionWithGradients() {
        Case[] cases = {
            Case.of(1, 1, 1, 1, 1, 1),
            Case.of(2, 3, 5, 7, 3, 4),
            Case.of(1, 2, 70, 130, 20, 33),
            Case.of(2, 2, 64, 64, 64, 64),
            Case.of(1, 2, 130, 130, 16, 16).withCausal(),
            Case.of(1, 2, 3, 150, 8, 8).withCausal(),
            Case.of(2, 1, 70, 5, 4, 3).withCausal().withPadding(true),
            Case.of(2, 2, 9, 80, 5, 6).withPadding(true),
            Case.of(2, 2, 67, 70, 8, 4).withBias(2, 2, 67, 70),
            Case.of(2, 2, 67, 70, 8, 4).withBias(1, 2, 67, 70),
            Case.of(2, 2, 67, 70, 8, 4).withBias(2, 67, 70),
            Case.of(2, 2, 67, 70, 8, 4).withBias(70),
            Case.of(2, 2, 67, 70, 8, 4).withBias(2, 1, 67, 1),
            Case.of(2, 2, 66, 140, 12, 17).withCausal().withBias(2, 66, 140).withPadding(false),
        };
        long seed = 100;
        for (Case c : cases) {
            String name = c.toString();
            Tensor[] in = c.inputs(seed);
            AttentionContext context = c.context(in, 0f, seed++);
            Tensor flash = new FlashAttention(0f).forward(in[0], in[1], in[2], context);
            float[] w = Tensor.randn(new SplittableRandom(seed), flash.shape()).toFloatArray();
            flash.backward(Tensor.of(w, flash.shape()));
            float[][] flashGrads = grads(in);
            Tensor full = new FullAttention(0f).forward(in[0], in[1], in[2], context);
            full.backward(Tensor.of(w, full.shape()));
            float[][] fullGrads = grads(in);
            assertClose(name + ": output", flash.toFloatArray(), full.toFloatArray(), 1e-5);
            for (int i = 0; i < in.length; i++) {
                assertClose(name + ": gradient of input " + i, flashGrads[i], fullGrads[i], 1e-4);
            }
        }
    }

    /** The gradients of {@code in}, cleared for the next backward pass. */
    private static float[][] grads(Tensor[] in) {
        float[][] g = new float[in.length][];
        for (int i = 0; i < in.length; i++) {
            g[i] = in[i].grad().toFloatArray();
            in[i].zeroGrad();
        }
        return g;
    }

    @Test
    void matchesFloat64ReferenceWithFiniteDifferenceGradients() {
        Case.of(2, 2, 4, 5, 3, 2).gradCheck("self-attention", 0f, 0f, 1);
        Case.of(2, 2, 3, 6, 4, 3).withCausal().withBias(2, 3, 6).withPadding(false).gradCheck("combined, scale 0.3", 0.3f, 0f, 2);
        Case.of(2, 1, 5, 3, 3, 2).withCausal().withBias(1, 1, 5, 3).withPadding(true).gradCheck("fully masked rows", 0f, 0f, 3);
    }

    @Test
    void dropoutMaskIsTheSameInForwardAndBackward() {
        // the finite differences see the mask of the fixed seed: a backward that regenerated
        // another mask would fail them
        Case.of(2, 2, 4, 6, 3, 3).withCausal().withBias(2, 4, 6).gradCheck("dropout 0.3", 0f, 0.3f, 4);
    }

    @Test
    void dropoutIsDeterministicForASeed() {
        Case c = Case.of(2, 2, 8, 8, 4, 4);
        Tensor[] in = c.inputs(5);
        FlashAttention flash = new FlashAttention(0f);
        float[] first = flash.forward(in[0], in[1], in[2], c.context(in, 0.3f, 99)).toFloatArray();
        float[] again = flash.forward(in[0], in[1], in[2], c.context(in, 0.3f, 99)).toFloatArray();
        float[] other = flash.forward(in[0], in[1], in[2], c.context(in, 0.3f, 100)).toFloatArray();
        float[] none = flash.forward(in[0], in[1], in[2], c.context(in, 0f, 99)).toFloatArray();
        assertThat(again).containsExactly(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(none).isNotEqualTo(first);
    }

    @Test
    void fullyMaskedRowsGiveZerosAndZeroGradients() {
        Case c = Case.of(2, 2, 5, 3, 3, 2).withCausal().withPadding(true);
        Tensor[] in = c.inputs(6);
        Tensor out = new FlashAttention(0f).forward(in[0], in[1], in[2], c.context(in, 0f, 6));
        out.sum().backward();
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 5; i++) {
                for (int e = 0; e < 2; e++) {
                    assertThat(out.get(1, h, i, e)).as("batch row 1 pads every key").isZero();
                }
                for (int d = 0; d < 3; d++) {
                    assertThat(in[0].grad().get(1, h, i, d)).isZero();
                }
            }
            // queries 0 and 1 sit before key 0
            assertThat(out.get(0, h, 0, 0)).isZero();
            assertThat(out.get(0, h, 1, 1)).isZero();
            assertThat(out.get(0, h, 2, 0)).isNotZero();
        }
        for (Tensor t : in) {
            assertThat(t.grad().toFloatArray()).doesNotContain(Float.NaN);
        }
    }

    @Test
    void rejectsInconsistentShapesNamingThem() {
        AttentionCases.assertRejectsMismatchedShapes(new FlashAttention(0f), "flash attention");
    }

    @Test
    void providerAndDescriptor() {
        FlashAttentionProvider provider = new FlashAttentionProvider();
        assertThat(provider.create(Map.of("scale", "0.5")).scale()).isEqualTo(0.5f);
        assertThat(provider.create(Map.of()).scale()).isZero();
        assertThatThrownBy(() -> provider.create(Map.of("scale", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("flash.scale = -1.0 is outside the valid range [0, +inf)");
        ComponentDescriptor d = provider.descriptor();
        assertThat(d.name()).isEqualTo("flash");
        assertThat(d.kind()).isEqualTo(ComponentKind.ATTENTION);
        assertThat(d.reference())
                .isEqualTo("Dao, 2023, FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning");
        assertThat(d.implementation()).isEqualTo(FlashAttention.class.getName());
        assertThat(d.capabilityMap()).contains(entry("causal", true), entry("crossAttention", true),
                entry("keyPaddingMask", true), entry("additiveBias", true), entry("incrementalDecoding", true),
                entry("exact", true), entry("time", "O(N^2)"), entry("memory", "O(N)"));
    }

    private static void assertClose(String what, float[] actual, float[] expected, double tolerance) {
        assertThat(actual).as(what + ": length").hasSize(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance * (1 + Math.abs(expected[i])))) {
                fail("%s: element %d is %s, full attention %s (%s)", what, i, actual[i], expected[i],
                        Arrays.toString(Arrays.copyOfRange(actual, Math.max(0, i - 2), Math.min(actual.length, i + 3))));
            }
        }
    }
}
