package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.attention.AttentionCases.withRowReplaced;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.AttentionCases;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class FullAttentionTest {

    /**
     * One attention problem: sizes, which keys are padded (per batch row, or null), causal or
     * not, the shape of the bias tensor (rank 1 to 4, or null for none) and the scale (0 for
     * 1/sqrt(headDim)).
     */
    private record Case(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim,
                        boolean[][] padded, boolean causal, int[] biasShape, float scale) {

        static Case of(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, null, false, null, 0f);
        }

        Case withPadding(boolean[][] mask) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, mask, causal, biasShape, scale);
        }

        Case withCausal() {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, padded, true, biasShape, scale);
        }

        Case withBias(int... shape) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, padded, causal, shape, scale);
        }

        Case withScale(float value) {
            return new Case(batch, heads, queryLength, keyLength, headDim, valueDim, padded, causal, biasShape, value);
        }

        /** q, k, v and, with a bias, the bias: standard normal leaves that require grad. */
        Tensor[] inputs(long seed) {
            return AttentionCases.inputs(seed, batch, heads, queryLength, keyLength, headDim, valueDim, biasShape);
        }

        Tensor forward(Tensor[] in) {
            AttentionContext context = AttentionCases.context(causal, in.length > 3 ? in[3] : null,
                    AttentionCases.paddingMask(padded), keyLength).build();
            return new FullAttention(scale).forward(in[0], in[1], in[2], context);
        }

        /** The attention in float64 ({@link AttentionReference}); a query with every key masked gets zeros. */
        double[] reference(double[][] in) {
            AttentionProblem p = AttentionCases.problem(batch, heads, queryLength, keyLength, headDim, valueDim,
                    scale, causal, biasShape, 0f, 0L);
            return AttentionReference.forward(p, in[0], in[1], in[2], in.length > 3 ? in[3] : null,
                    AttentionCases.paddingMask(padded));
        }

        void check(String name, long seed) {
            GradCheck.of(name, this::forward, this::reference, inputs(seed)).check();
        }
    }

    @Test
    void matchesReferenceWithGradients() {
        Case.of(2, 2, 4, 4, 3, 5).check("self-attention", 1);
    }

    @Test
    void explicitScale() {
        Case.of(1, 2, 3, 3, 4, 2).withScale(0.5f).check("scale 0.5", 2);
    }

    @Test
    void keyPaddingMask() {
        boolean[][] padded = {{false, false, false, true, true}, {false, true, false, false, false}};
        Case.of(2, 2, 5, 5, 3, 4).withPadding(padded).check("key padding mask", 3);
    }

    @Test
    void causalSelfAttention() {
        Case.of(2, 2, 5, 5, 3, 3).withCausal().check("causal", 4);
    }

    @Test
    void causalWithFewerQueriesThanKeysIsEndAligned() {
        // incremental decoding: 2 new queries at key positions 4 and 5
        Case.of(1, 2, 2, 6, 4, 3).withCausal().check("causal, Lq < Lk", 5);
    }

    @Test
    void crossAttention() {
        Case.of(2, 2, 3, 6, 4, 2).check("cross-attention, Lk > Lq", 6);
        Case.of(2, 1, 6, 2, 4, 3).check("cross-attention, Lk < Lq", 7);
    }

    @Test
    void learnableBiasReceivesGradients() {
        Case.of(2, 2, 3, 4, 3, 2).withBias(1, 2, 3, 4).check("bias [1, H, Lq, Lk]", 8);
        Case.of(2, 2, 3, 4, 3, 2).withBias(2, 3, 4).check("bias [H, Lq, Lk]", 9);
        Case.of(2, 2, 3, 4, 3, 2).withBias(2, 2, 3, 4).check("bias [B, H, Lq, Lk]", 10);
    }

    @Test
    void everythingCombined() {
        boolean[][] padded = {{false, false, false, false, true, true}, {true, false, false, false, false, false}};
        Case.of(2, 2, 3, 6, 4, 3).withPadding(padded).withCausal().withBias(2, 3, 6).withScale(0.3f).check("combined", 11);
    }

    @Test
    void fullyMaskedRowsGiveZerosAndFiniteGradients() {
        // batch row 1 pads every key; with Lq > Lk causal, queries 0 and 1 sit before key 0
        boolean[][] padded = {{false, false, false}, {true, true, true}};
        Case c = Case.of(2, 2, 5, 3, 3, 2).withPadding(padded).withCausal().withBias(2, 5, 3);
        c.check("fully masked rows", 12);

        Tensor[] in = c.inputs(12);
        Tensor out = c.forward(in);
        assertThat(out.toFloatArray()).doesNotContain(Float.NaN);
        for (int h = 0; h < 2; h++) {
            for (int e = 0; e < 2; e++) {
                assertThat(out.get(0, h, 0, e)).isZero();
                assertThat(out.get(0, h, 1, e)).isZero();
                assertThat(out.get(0, h, 2, e)).isNotZero();
                for (int i = 0; i < 5; i++) {
                    assertThat(out.get(1, h, i, e)).isZero();
                }
            }
        }
        out.sum().backward();
        for (Tensor t : in) {
            assertThat(t.grad().toFloatArray()).doesNotContain(Float.NaN);
        }
    }

    @Test
    void causalOutputsNeverSeeLaterKeysOrValues() {
        Case c = Case.of(1, 2, 5, 5, 3, 3).withCausal();
        Tensor[] in = c.inputs(13);
        float[] before = c.forward(in).toFloatArray();
        for (int changed = 1; changed < 5; changed++) {
            Tensor[] altered = {in[0], withRowReplaced(in[1], changed, 100f), withRowReplaced(in[2], changed, -50f)};
            float[] after = c.forward(altered).toFloatArray();
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < 5; i++) {
                    for (int e = 0; e < 3; e++) {
                        int at = ((h * 5) + i) * 3 + e;
                        if (i < changed) {
                            assertThat(after[at]).as("head %d query %d after changing key %d", h, i, changed)
                                    .isEqualTo(before[at]);
                        } else if (i == changed) {
                            assertThat(after[at]).isNotEqualTo(before[at]);
                        }
                    }
                }
            }
        }
        Tensor out = c.forward(in);
        out.narrow(2, 0, 2).sum().backward();
        float[] keyGrad = in[1].grad().toFloatArray();
        for (int h = 0; h < 2; h++) {
            for (int j = 2; j < 5; j++) {
                for (int d = 0; d < 3; d++) {
                    assertThat(keyGrad[((h * 5) + j) * 3 + d]).as("d(queries 0-1)/d key %d", j).isZero();
                }
            }
        }
    }

    @Test
    void paddedKeysHaveNoInfluence() {
        boolean[][] padded = {{false, false, true, true}};
        Case c = Case.of(1, 2, 3, 4, 3, 2).withPadding(padded);
        Tensor[] in = c.inputs(14);
        float[] before = c.forward(in).toFloatArray();
        Tensor[] altered = {in[0], withRowReplaced(withRowReplaced(in[1], 2, 30f), 3, -7f),
            withRowReplaced(withRowReplaced(in[2], 2, 1e3f), 3, 9f)};
        assertThat(c.forward(altered).toFloatArray()).containsExactly(before);
    }

    @Test
    void dropoutIsDeterministicForASeed() {
        Tensor[] in = Case.of(2, 2, 4, 4, 3, 3).inputs(15);
        FullAttention attention = new FullAttention(0f);
        float[] first = attention.forward(in[0], in[1], in[2], dropout(0.3f, 99)).toFloatArray();
        float[] again = attention.forward(in[0], in[1], in[2], dropout(0.3f, 99)).toFloatArray();
        float[] other = attention.forward(in[0], in[1], in[2], dropout(0.3f, 100)).toFloatArray();
        assertThat(again).containsExactly(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void zeroDropoutIsNoDropout() {
        Tensor[] in = Case.of(2, 2, 4, 4, 3, 3).inputs(16);
        FullAttention attention = new FullAttention(0f);
        AttentionContext zero = AttentionContext.builder().dropout(0f, new SplittableRandom(1)).build();
        assertThat(attention.forward(in[0], in[1], in[2], zero).toFloatArray())
                .containsExactly(attention.forward(in[0], in[1], in[2], AttentionContext.none()).toFloatArray());
    }

    @Test
    void dropoutZeroesWeightsAndScalesTheRest() {
        int keys = 6;
        Tensor[] in = Case.of(1, 1, 4, keys, 3, keys).inputs(17);
        float[] identity = new float[keys * keys];
        for (int j = 0; j < keys; j++) {
            identity[j * keys + j] = 1f;
        }
        // with identity values the output is the attention weights themselves
        Tensor v = Tensor.of(identity, 1, 1, keys, keys);
        FullAttention attention = new FullAttention(0f);
        float[] weights = attention.forward(in[0], in[1], v, AttentionContext.none()).toFloatArray();
        float p = 0.25f;
        float[] dropped = attention.forward(in[0], in[1], v, dropout(p, 3)).toFloatArray();
        int zeros = 0;
        for (int i = 0; i < weights.length; i++) {
            if (dropped[i] == 0f) {
                zeros++;
            } else {
                assertThat(dropped[i]).isCloseTo(weights[i] / (1 - p), within(1e-6f));
            }
        }
        assertThat(zeros).isBetween(1, weights.length - 1);
    }

    private static AttentionContext dropout(float p, long seed) {
        return AttentionContext.builder().dropout(p, new SplittableRandom(seed)).build();
    }

    @Test
    void rejectsInconsistentShapes() {
        FullAttention attention = new FullAttention(0f);
        AttentionContext none = AttentionContext.none();
        Tensor q = Tensor.zeros(2, 3, 4, 8);
        Tensor k = Tensor.zeros(2, 3, 5, 8);
        Tensor v = Tensor.zeros(2, 3, 5, 6);
        assertThatThrownBy(() -> attention.forward(Tensor.zeros(3, 4, 8), k, v, none))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[batch, heads, length, headDim]").hasMessageContaining("query [3, 4, 8]");
        assertThatThrownBy(() -> attention.forward(q, Tensor.zeros(1, 3, 5, 8), v, none))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("batch and heads").hasMessageContaining("key [1, 3, 5, 8]");
        assertThatThrownBy(() -> attention.forward(q, k, Tensor.zeros(2, 2, 5, 6), none))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("value [2, 2, 5, 6]");
        assertThatThrownBy(() -> attention.forward(q, k, Tensor.zeros(2, 3, 6, 6), none))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key [2, 3, 5, 8] and value [2, 3, 6, 6] must have the same length");
        AttentionCases.assertRejectsMismatchedShapes(attention, "full");
    }
}
