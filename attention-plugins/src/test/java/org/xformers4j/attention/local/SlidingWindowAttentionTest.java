package org.xformers4j.attention.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

class SlidingWindowAttentionTest {

    /** Query position i sees key j when |i - j| <= window. */
    private static BandedCase.Band band(int window) {
        return (i, j) -> Math.abs(i - j) <= window;
    }

    private static BandedCase sliding(int batch, int heads, int queryLength, int keyLength, int window) {
        return BandedCase.of(batch, heads, queryLength, keyLength, 4, 3, band(window));
    }

    @Test
    void equalsFullAttentionWithTheBandForManyShapes() {
        long seed = 1;
        for (int length : new int[] {1, 2, 7, 8, 16, 19, 40}) {
            for (int window : new int[] {1, 2, 3, 8, 13}) {
                SlidingWindowAttention attention = new SlidingWindowAttention(window, 0f);
                sliding(2, 2, length, length, window)
                        .assertMatchesFull("L=" + length + " window=" + window, attention, seed++);
                sliding(1, 3, length, length, window).withCausal()
                        .assertMatchesFull("causal L=" + length + " window=" + window, attention, seed++);
            }
        }
    }

    @Test
    void windowCoveringTheSequenceIsFullAttention() {
        for (boolean causal : new boolean[] {false, true}) {
            Tensor[] in = sliding(2, 2, 11, 11, 10).inputs(50);
            AttentionContext context = AttentionContext.builder().causal(causal).build();
            float[] full = new FullAttention(0f).forward(in[0], in[1], in[2], context).toFloatArray();
            for (int window : new int[] {10, 1_000_000}) {
                float[] sliding = new SlidingWindowAttention(window, 0f).forward(in[0], in[1], in[2], context)
                        .toFloatArray();
                for (int e = 0; e < full.length; e++) {
                    assertThat(sliding[e]).as("causal %s window %d element %d", causal, window, e)
                            .isCloseTo(full[e], within(2e-6f));
                }
            }
        }
    }

    @Test
    void paddingMaskWithNothingPaddedChangesNothing() {
        BandedCase c = sliding(2, 2, 6, 6, 6).withPadding(new boolean[2][6]);
        c.assertMatchesFull("window covering the sequence, nothing padded", new SlidingWindowAttention(6, 0f), 60);
        c.withCausal().assertMatchesFull("causal, nothing padded", new SlidingWindowAttention(6, 0f), 61);
        sliding(2, 2, 6, 6, 2).withPadding(new boolean[2][6])
                .assertMatchesFull("window 2, nothing padded", new SlidingWindowAttention(2, 0f), 62);
    }

    @Test
    void causalWithFewerQueriesThanKeysIsEndAligned() {
        long seed = 100;
        for (int keyLength : new int[] {1, 5, 12, 30}) {
            for (int queryLength : new int[] {1, 2, 4, 11}) {
                if (queryLength > keyLength) {
                    continue;
                }
                for (int window : new int[] {1, 3, 4, 9}) {
                    sliding(2, 2, queryLength, keyLength, window).withCausal()
                            .assertMatchesFull("Lq=" + queryLength + " Lk=" + keyLength + " window=" + window,
                                    new SlidingWindowAttention(window, 0f), seed++);
                }
            }
        }
    }

    @Test
    void incrementalDecodingEqualsRecomputation() {
        SlidingWindowAttention attention = new SlidingWindowAttention(3, 0f);
        BandedCase c = sliding(1, 2, 9, 9, 3).withCausal();
        Tensor[] in = c.inputs(150);
        float[] all = c.forward(attention, in).toFloatArray();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        for (int step = 1; step <= 9; step++) {
            Tensor q = in[0].narrow(2, step - 1, 1);
            Tensor out = attention.forward(q, in[1].narrow(2, 0, step), in[2].narrow(2, 0, step), causal);
            for (int h = 0; h < 2; h++) {
                for (int e = 0; e < 3; e++) {
                    assertThat(out.get(0, h, 0, e)).as("step %d head %d", step, h)
                            .isCloseTo(all[(h * 9 + step - 1) * 3 + e], within(2e-6f));
                }
            }
        }
    }

    @Test
    void keyPaddingAndBiasMatchFull() {
        boolean[][] padded = BandedCase.paddedFrom(13, 9, 13);
        padded[1][4] = true;
        sliding(2, 2, 13, 13, 3).withPadding(padded).withBias(2, 2, 13, 13)
                .assertMatchesFull("padding and bias [B, H, Lq, Lk]", new SlidingWindowAttention(3, 0f), 200);
        sliding(2, 2, 13, 13, 4).withPadding(padded).withCausal().withBias(13, 1)
                .assertMatchesFull("causal, padding, bias [Lq, 1]", new SlidingWindowAttention(4, 0f), 201);
        sliding(2, 1, 5, 13, 2).withPadding(padded).withCausal().withBias(1, 1, 5, 13)
                .assertMatchesFull("decoding with padding and bias", new SlidingWindowAttention(2, 0f), 202);
    }

    @Test
    void gradientsMatchTheFloat64Reference() {
        sliding(2, 2, 7, 7, 2).gradCheck("window 2", new SlidingWindowAttention(2, 0f), 300);
        sliding(1, 2, 8, 8, 3).withCausal().gradCheck("causal window 3", new SlidingWindowAttention(3, 0f), 301);
        sliding(1, 2, 3, 8, 2).withCausal().withBias(2, 3, 8)
                .gradCheck("decoding with a bias", new SlidingWindowAttention(2, 0f), 302);
        boolean[][] padded = BandedCase.paddedFrom(7, 4, 7);
        sliding(2, 1, 7, 7, 1).withPadding(padded).withBias(7, 7)
                .gradCheck("padding and bias", new SlidingWindowAttention(1, 0f), 303);
    }

    @Test
    void queriesWithEveryVisibleKeyPaddedOutputZeros() {
        boolean[][] padded = {{true, true, true, false, false, false}};
        BandedCase c = sliding(1, 2, 6, 6, 1).withPadding(padded);
        c.gradCheck("all visible keys padded", new SlidingWindowAttention(1, 0f), 400);
        Tensor out = c.forward(new SlidingWindowAttention(1, 0f), c.inputs(400));
        for (int h = 0; h < 2; h++) {
            for (int e = 0; e < 3; e++) {
                assertThat(out.get(0, h, 0, e)).isZero();
                assertThat(out.get(0, h, 1, e)).isZero();
                assertThat(out.get(0, h, 2, e)).isNotZero();
            }
        }
    }

    @Test
    void noCausalLeakage() {
        sliding(1, 2, 11, 11, 3).withCausal().assertNoCausalLeakage(new SlidingWindowAttention(3, 0f), 500);
    }

    @Test
    void dropoutIsDeterministicForASeed() {
        Tensor[] in = sliding(1, 2, 9, 9, 2).inputs(600);
        SlidingWindowAttention attention = new SlidingWindowAttention(2, 0f);
        float[] first = attention.forward(in[0], in[1], in[2], dropout(0.3f, 9)).toFloatArray();
        assertThat(attention.forward(in[0], in[1], in[2], dropout(0.3f, 9)).toFloatArray()).containsExactly(first);
        assertThat(attention.forward(in[0], in[1], in[2], dropout(0.3f, 10)).toFloatArray()).isNotEqualTo(first);
        assertThat(first).isNotEqualTo(attention.forward(in[0], in[1], in[2], AttentionContext.none()).toFloatArray());
    }

    private static AttentionContext dropout(float p, long seed) {
        return AttentionContext.builder().dropout(p, new SplittableRandom(seed)).build();
    }

    @Test
    void memoryGrowsLinearlyWithLength() {
        SlidingWindowAttention attention = new SlidingWindowAttention(64, 0f);
        long at2048 = BandedCase.allocatedBytes(attention, 2048);
        long at4096 = BandedCase.allocatedBytes(attention, 4096);
        assertThat((double) at4096 / at2048).as("bytes allocated at N=4096 / at N=2048").isLessThan(2.6);
    }

    @Test
    void rejectsQueriesAndKeysOfDifferentLengthsUnlessCausalDecoding() {
        SlidingWindowAttention attention = new SlidingWindowAttention(2, 0f);
        Tensor q = Tensor.zeros(1, 2, 3, 4);
        Tensor kv = Tensor.zeros(1, 2, 5, 4);
        assertThatThrownBy(() -> attention.forward(q, kv, kv, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sliding-window: query length 3 and key length 5 must be equal unless")
                .hasMessageContaining("without a causal context");
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        assertThatThrownBy(() -> attention.forward(kv, q, q, causal))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("query length 5 and key length 3");
        assertThatThrownBy(() -> attention.forward(q, kv, Tensor.zeros(1, 2, 4, 4), causal))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key [1, 2, 5, 4] and value [1, 2, 4, 4] must have the same length");
        AttentionContext badBias = AttentionContext.builder().causal(true).bias(Tensor.zeros(3, 4)).build();
        assertThatThrownBy(() -> attention.forward(q, kv, kv, badBias))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bias [3, 4] does not broadcast to the scores");
    }

    private final SlidingWindowAttentionProvider provider = new SlidingWindowAttentionProvider();

    @Test
    void providerConfiguresAndValidates() {
        assertThat(provider.create(Map.of("window", "128")).window()).isEqualTo(128);
        assertThat(provider.create(Map.of()).window()).isEqualTo(256);
        assertThatThrownBy(() -> provider.create(Map.of("window", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("sliding-window.window = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("size", "3")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'size' for sliding-window; valid options:");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = provider.descriptor();
        assertThat(d.name()).isEqualTo("sliding-window");
        assertThat(d.reference()).contains("Longformer").contains("Mistral");
        assertThat(d.hyperparameters()).extracting(h -> h.name()).containsExactlyInAnyOrder("window", "scale", "kvHeads", "qkNorm", "qkNormTemperature", "numMemoryKv",
                "talkingHeads", "topK");
        assertThat(d.capabilityMap()).contains(entry("causal", true), entry("crossAttention", false),
                entry("keyPaddingMask", true), entry("additiveBias", true), entry("incrementalDecoding", true),
                entry("exact", false), entry("time", "O(N*window)"), entry("memory", "O(N*window)"));
    }
}
