package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.nn.MultiHeadAttentionTest.assertClose;
import static org.xformers4j.nn.MultiHeadAttentionTest.decode;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Incremental decoding of {@link MultiHeadAttention} with a mechanism that keeps a recurrent state
 * ({@link TestLinearAttention}) instead of keys and values: pieces of a sequence against one pass,
 * positions, padding, the size of the cache, beams, gradients and misuse.
 */
class RecurrentDecodingTest {

    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final AttentionContext CAUSAL = AttentionContext.builder().causal(true).build();

    /** The rotary rotation of {@link MultiHeadAttentionTest.RotaryAlibi} without its bias, logging its offsets. */
    @ComponentInfo(name = "test-rotary", summary = "Rotates q/k, logging calls", reference = "Su et al., 2021, RoFormer")
    @PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = true)
    static final class Rotary implements PositionalEncoding {

        final List<String> calls = new ArrayList<>();

        @Override
        public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
            calls.add("rotate " + queryOffset + " " + keyOffset);
            return new Tensor[] {MultiHeadAttentionTest.RotaryAlibi.rotate(query, queryOffset),
                    MultiHeadAttentionTest.RotaryAlibi.rotate(key, keyOffset)};
        }
    }

    private static MultiHeadAttention layer(PositionalEncoding positional, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, HEADS, new TestLinearAttention(), positional, true, rng);
        NnReference.randomize(mha, rng, 0.5f);
        return mha;
    }

    @Test
    void piecesThroughTheRecurrentStateGiveOneCausalPassWithRotationsAtAbsolutePositions() {
        Rotary rotary = new Rotary();
        MultiHeadAttention mha = layer(rotary, 1);
        Tensor x = Tensor.randn(new SplittableRandom(2), 2, 7, DIM);
        // row 1 is left-padded by two positions, as a shorter prompt in a batch
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2, 7);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor full = mha.selfAttention(x, AttentionContext.builder().causal(true).keyPaddingMask(padding).build());
            for (int[] chunks : new int[][] {{1, 1, 1, 1, 1, 1, 1}, {2, 3, 2}, {3, 1, 3}}) {
                KvCache cache = new KvCache();
                rotary.calls.clear();
                assertClose(decode(mha, x, padding, cache, chunks), full, 1e-5);
                assertThat(cache.length()).isEqualTo(7);
                assertThat(cache.keys()).as("no keys are kept").isNull();
                assertThat(cache.state()).hasSize(2);
                int offset = 0;
                for (int chunk : chunks) {
                    assertThat(rotary.calls).contains("rotate " + offset + " " + offset);
                    offset += chunk;
                }
            }
        }
    }

    @Test
    void withoutACausalContextNewQueriesSeeEveryEarlierAndNewPosition() {
        MultiHeadAttention mha = layer(null, 3);
        Tensor x = Tensor.randn(new SplittableRandom(4), 2, 5, DIM);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            KvCache cache = new KvCache();
            mha.selfAttentionStep(x.narrow(1, 0, 3), AttentionContext.none(), cache);
            Tensor continued = mha.selfAttentionStep(x.narrow(1, 3, 2), AttentionContext.none(), cache);
            assertClose(continued, mha.selfAttention(x, AttentionContext.none()).narrow(1, 3, 2), 1e-5);
        }
    }

    @Test
    void theCacheHoldsAStateOfOneSizeWhateverTheNumberOfPositions() {
        MultiHeadAttention mha = layer(null, 5);
        SplittableRandom rng = new SplittableRandom(6);
        KvCache cache = new KvCache();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            mha.selfAttentionStep(Tensor.randn(rng, 3, 4, DIM), CAUSAL, cache);
            long afterPrompt = cache.bytes();
            // S [3, H, D, D] and z [3, H, 1, D] of the test mechanism, D = DIM / HEADS
            int d = DIM / HEADS;
            assertThat(afterPrompt).isEqualTo(3L * HEADS * (d * d + d) * Float.BYTES);
            for (int step = 0; step < 40; step++) {
                mha.selfAttentionStep(Tensor.randn(rng, 3, 1, DIM), CAUSAL, cache);
            }
            assertThat(cache.length()).isEqualTo(44);
            assertThat(cache.bytes()).as("bytes after 40 more positions").isEqualTo(afterPrompt);
        }
        KvCache keysAndValues = new KvCache();
        MultiHeadAttention softmax = new MultiHeadAttention(DIM, HEADS, new TestSoftmaxAttention(), null, true, rng);
        softmax.selfAttentionStep(Tensor.randn(rng, 3, 4, DIM), CAUSAL, keysAndValues);
        long four = keysAndValues.bytes();
        softmax.selfAttentionStep(Tensor.randn(rng, 3, 4, DIM), CAUSAL, keysAndValues);
        assertThat(keysAndValues.bytes()).as("a cache of keys and values grows").isEqualTo(2 * four);
    }

    @Test
    void outputsCarryTheGradientOfTheNewPositionsAndTheStateIsDetached() {
        MultiHeadAttention mha = layer(null, 7);
        SplittableRandom rng = new SplittableRandom(8);
        KvCache cache = new KvCache();
        mha.selfAttentionStep(Tensor.randn(rng, 1, 3, DIM), CAUSAL, cache);
        Tensor x = Tensor.randn(rng, 1, 2, DIM).requiresGrad(true);
        mha.selfAttentionStep(x, CAUSAL, cache).sum().backward();
        assertThat(cache.state()).allSatisfy(t -> assertThat(t.requiresGrad()).isFalse());
        double norm = 0;
        for (float g : x.grad().toFloatArray()) {
            norm += Math.abs(g);
        }
        assertThat(norm).as("gradient reaching the new positions").isPositive();
    }

    @Test
    void aReorderedStateContinuesTheChosenRows() {
        MultiHeadAttention mha = layer(new Rotary(), 9);
        Tensor x = Tensor.randn(new SplittableRandom(10), 2, 5, DIM);
        int[] origins = {1, 0, 1};
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            KvCache cache = new KvCache();
            decode(mha, x, null, cache, 3);
            cache.reorder(origins);
            assertThat(cache.state().get(0).size(0)).isEqualTo(3);
            Tensor beams = x.indexSelect(0, origins);
            assertClose(decode(mha, beams, null, cache, 1, 1), mha.selfAttention(beams, CAUSAL).narrow(1, 3, 2), 1e-5);
        }
        KvCache cache = new KvCache();
        mha.selfAttentionStep(x, CAUSAL, cache);
        assertThatThrownBy(() -> cache.reorder(new int[] {0, 2})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("origins[1] = 2").hasMessageContaining("batch of 2");
    }

    @Test
    void aPaddedKeyStaysOutOfTheStateAndTheMaskMustSayWhichWereLeftOut() {
        MultiHeadAttention mha = layer(null, 11);
        SplittableRandom rng = new SplittableRandom(12);
        Tensor x = Tensor.randn(rng, 2, 4, DIM);
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 1, 0, 0, 0}, 2, 4);      // key 0 of row 1
        KvCache cache = new KvCache();
        decode(mha, x, padding, cache, 3);
        Tensor next = x.narrow(1, 3, 1);
        assertThatThrownBy(() -> mha.selfAttentionStep(next, CAUSAL, cache)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("marks 0 of the 3 cached positions of row 1")
                .hasMessageContaining("left out 1 padded keys");
        Tensor moved = Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0}, 2, 4);        // row 0's key 0 padded now
        assertThatThrownBy(() -> mha.selfAttentionStep(next, AttentionContext.builder().causal(true).keyPaddingMask(moved)
                .build(), cache)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("marks 1 of the 3 cached positions of row 0");
        assertThat(cache.length()).as("a rejected step changes nothing").isEqualTo(3);
        mha.selfAttentionStep(next, AttentionContext.builder().causal(true).keyPaddingMask(padding).build(), cache);
        assertThat(cache.length()).isEqualTo(4);
    }

    @Test
    void aPaddedKeyChangesNothingInLaterSteps() {
        MultiHeadAttention mha = layer(null, 13);
        SplittableRandom rng = new SplittableRandom(14);
        float[] data = Tensor.randn(rng, 2, 5, DIM).toFloatArray();
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 2, 5);     // key 1 of row 1
        float[] changed = data.clone();
        for (int c = 0; c < DIM; c++) {
            changed[(5 + 1) * DIM + c] += 4f;
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            float[] before = decode(mha, Tensor.of(data, 2, 5, DIM), padding, new KvCache(), 2, 1, 1, 1)
                    .narrow(1, 2, 3).toFloatArray();
            float[] after = decode(mha, Tensor.of(changed, 2, 5, DIM), padding, new KvCache(), 2, 1, 1, 1)
                    .narrow(1, 2, 3).toFloatArray();
            // (the padded position's own query changes; the later positions of both rows do not)
            assertThat(after).containsExactly(before);
        }
    }

    @Test
    void aBiasIsRefusedBecauseTheStateKeepsNoScores() {
        MultiHeadAttention mha = layer(null, 15);
        SplittableRandom rng = new SplittableRandom(16);
        KvCache cache = new KvCache();
        mha.selfAttentionStep(Tensor.randn(rng, 1, 2, DIM), CAUSAL, cache);
        AttentionContext biased = AttentionContext.builder().causal(true).bias(Tensor.zeros(1, 1, 1, 3)).build();
        assertThatThrownBy(() -> mha.selfAttentionStep(Tensor.randn(rng, 1, 1, DIM), biased, cache))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'test-linear'")
                .hasMessageContaining("recurrent state").hasMessageContaining("bias");
        MultiHeadAttention alibi = new MultiHeadAttention(DIM, HEADS, new TestLinearAttention(),
                new MultiHeadAttentionTest.RotaryAlibi(), true, rng);
        assertThatThrownBy(() -> alibi.selfAttentionStep(Tensor.randn(rng, 1, 2, DIM), CAUSAL, new KvCache()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no scores");
        assertThat(cache.length()).isEqualTo(2);
    }

    @Test
    void aCacheHoldsKeysAndValuesOrAStateForOneBatchAndSaysWhenMisused() {
        SplittableRandom rng = new SplittableRandom(17);
        MultiHeadAttention recurrent = layer(null, 18);
        MultiHeadAttention softmax = new MultiHeadAttention(DIM, HEADS, new TestSoftmaxAttention(), null, true, rng);
        KvCache state = new KvCache();
        recurrent.selfAttentionStep(Tensor.randn(rng, 2, 3, DIM), CAUSAL, state);
        assertThatThrownBy(() -> softmax.selfAttentionStep(Tensor.randn(rng, 2, 1, DIM), CAUSAL, state))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds the recurrent state of 3 positions").hasMessageContaining("another layer");
        assertThatThrownBy(() -> recurrent.selfAttentionStep(Tensor.randn(rng, 3, 1, DIM), CAUSAL, state))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch 3")
                .hasMessageContaining("batch 2").hasMessageContaining("reordered");
        assertThatThrownBy(() -> recurrent.crossAttentionStep(Tensor.randn(rng, 2, 1, DIM), Tensor.randn(rng, 2, 4, DIM),
                AttentionContext.none(), state)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cached cross-attention");
        KvCache keysAndValues = new KvCache();
        softmax.selfAttentionStep(Tensor.randn(rng, 2, 3, DIM), CAUSAL, keysAndValues);
        assertThatThrownBy(() -> recurrent.selfAttentionStep(Tensor.randn(rng, 2, 1, DIM), CAUSAL, keysAndValues))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds the keys and values of 3 positions").hasMessageContaining("another layer");
        assertThat(state.length()).isEqualTo(3);
        assertThat(keysAndValues.length()).isEqualTo(3);
        assertThat(state.toString()).contains("recurrent state of 3 positions");
    }
}
