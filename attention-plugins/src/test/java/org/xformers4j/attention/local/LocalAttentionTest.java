package org.xformers4j.attention.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

class LocalAttentionTest {

    /** Query position i sees key j when j's chunk is within [chunk(i) - back, chunk(i) + forward]. */
    private static BandedCase.Band chunks(int chunkLength, int back, int forward) {
        return (i, j) -> j / chunkLength >= i / chunkLength - back && j / chunkLength <= i / chunkLength + forward;
    }

    private static BandedCase local(int batch, int heads, int length, int chunkLength, int back, int forward) {
        return BandedCase.of(batch, heads, length, length, 4, 3, chunks(chunkLength, back, forward));
    }

    @Test
    void equalsFullAttentionWithTheChunkBandForManyShapes() {
        long seed = 1;
        for (int length : new int[] {1, 5, 8, 12, 17, 33}) {
            for (int chunk : new int[] {1, 3, 4, 8}) {
                for (int back = 0; back <= 2; back++) {
                    for (int forward = 0; forward <= 1; forward++) {
                        BandedCase c = local(2, 2, length, chunk, back, forward);
                        c.assertMatchesFull("L=" + length + " chunk=" + chunk + " back=" + back + " forward=" + forward,
                                new LocalAttention(chunk, back, forward, 0f), seed++);
                    }
                }
            }
        }
    }

    @Test
    void causalEqualsFullCausalWithTheBackwardChunksAndIgnoresLookForward() {
        long seed = 100;
        for (int length : new int[] {1, 6, 9, 16, 23}) {
            for (int chunk : new int[] {1, 4, 5}) {
                for (int back = 0; back <= 2; back++) {
                    BandedCase c = local(1, 3, length, chunk, back, 0).withCausal();
                    String name = "causal L=" + length + " chunk=" + chunk + " back=" + back;
                    c.assertMatchesFull(name, new LocalAttention(chunk, back, 0, 0f), seed);
                    c.assertMatchesFull(name + " lookForward=2", new LocalAttention(chunk, back, 2, 0f), seed++);
                }
            }
        }
    }

    @Test
    void chunkCoveringTheSequenceIsFullAttention() {
        BandedCase c = local(2, 2, 13, 13, 0, 0);
        Tensor[] in = c.inputs(7);
        float[] full = new FullAttention(0f).forward(in[0], in[1], in[2], AttentionContext.none()).toFloatArray();
        float[] local = new LocalAttention(1_000_000, 3, 3, 0f).forward(in[0], in[1], in[2], AttentionContext.none())
                .toFloatArray();
        assertThat(local).containsExactly(full, org.assertj.core.data.Offset.offset(2e-6f));
    }

    @Test
    void paddingMaskWithNothingPaddedChangesNothing() {
        local(2, 2, 6, 8, 0, 0).withPadding(new boolean[2][6])
                .assertMatchesFull("one chunk, nothing padded", new LocalAttention(8, 0, 0, 0f), 150);
    }

    @Test
    void keyPaddingAndBiasMatchFull() {
        boolean[][] padded = BandedCase.paddedFrom(11, 7, 11);
        padded[1][2] = true;
        local(2, 2, 11, 3, 1, 1).withPadding(padded).withBias(2, 1, 11, 11)
                .assertMatchesFull("padding and bias", new LocalAttention(3, 1, 1, 0f), 200);
        local(2, 2, 11, 3, 1, 0).withPadding(padded).withCausal().withBias(11)
                .assertMatchesFull("causal, padding, bias [Lk]", new LocalAttention(3, 1, 0, 0f), 201);
    }

    @Test
    void gradientsMatchTheFloat64Reference() {
        local(2, 2, 7, 3, 1, 1).gradCheck("local chunk 3, back 1, forward 1", new LocalAttention(3, 1, 1, 0f), 300);
        local(1, 2, 8, 3, 1, 0).withCausal().gradCheck("causal chunk 3", new LocalAttention(3, 1, 0, 0f), 301);
        boolean[][] padded = BandedCase.paddedFrom(7, 5, 7);
        local(2, 1, 7, 2, 0, 1).withPadding(padded).withBias(1, 7, 7)
                .gradCheck("padding and bias", new LocalAttention(2, 0, 1, 0f), 302);
    }

    @Test
    void queriesWithEveryVisibleKeyPaddedOutputZeros() {
        // positions 0-3 form chunks 0 and 1; with no look-around, chunk 0 (keys 0, 1) is all padding
        BandedCase c = local(1, 2, 4, 2, 0, 0).withPadding(new boolean[][] {{true, true, false, false}});
        c.gradCheck("all visible keys padded", new LocalAttention(2, 0, 0, 0f), 400);
        Tensor out = c.forward(new LocalAttention(2, 0, 0, 0f), c.inputs(400));
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
        local(1, 2, 10, 3, 2, 1).withCausal().assertNoCausalLeakage(new LocalAttention(3, 2, 1, 0f), 500);
    }

    @Test
    void dropoutIsDeterministicForASeed() {
        Tensor[] in = local(1, 2, 9, 4, 1, 1).inputs(600);
        LocalAttention attention = new LocalAttention(4, 1, 1, 0f);
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
        LocalAttention attention = new LocalAttention(64, 1, 1, 0f);
        long at2048 = BandedCase.allocatedBytes(attention, 2048);
        long at4096 = BandedCase.allocatedBytes(attention, 4096);
        assertThat((double) at4096 / at2048).as("bytes allocated at N=4096 / at N=2048").isLessThan(2.6);
    }

    @Test
    void rejectsDifferentQueryAndKeyLengths() {
        LocalAttention attention = new LocalAttention(4, 1, 0, 0f);
        Tensor q = Tensor.zeros(1, 2, 5, 4);
        Tensor kv = Tensor.zeros(1, 2, 7, 4);
        assertThatThrownBy(() -> attention.forward(q, kv, kv, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("local: query length 5 and key length 7 must be equal");
        assertThatThrownBy(() -> attention.forward(q, Tensor.zeros(1, 2, 5, 3), kv, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("local: query [1, 2, 5, 4] and key [1, 2, 5, 3] must have the same headDim");
        AttentionContext badMask = AttentionContext.builder().keyPaddingMask(Tensor.zeros(1, 4)).build();
        assertThatThrownBy(() -> attention.forward(q, q, q, badMask))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keyPaddingMask [1, 4] must be [batch, keyLength] = [1, 5]");
    }

    private final LocalAttentionProvider provider = new LocalAttentionProvider();

    @Test
    void providerConfiguresAndValidates() {
        LocalAttention a = provider.create(Map.of("chunkLength", "32", "lookBackward", "2", "lookForward", "1"));
        assertThat(List.of(a.chunkLength(), a.lookBackward(), a.lookForward())).containsExactly(32, 2, 1);
        assertThat(provider.create(Map.of()).chunkLength()).isEqualTo(64);
        assertThatThrownBy(() -> provider.create(Map.of("chunkLength", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("local.chunkLength = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("lookBackward", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("local.lookBackward = -1 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> new LocalAttention(8, 1, -2, 0f))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("local.lookForward = -2");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = provider.descriptor();
        assertThat(d.name()).isEqualTo("local");
        assertThat(d.reference()).contains("Reformer");
        assertThat(d.implementation()).isEqualTo(LocalAttention.class.getName());
        assertThat(d.hyperparameters()).extracting(h -> h.name())
                .containsExactlyInAnyOrder("chunkLength", "lookBackward", "lookForward", "scale", "kvHeads", "qkNorm", "qkNormTemperature", "numMemoryKv",
                "talkingHeads", "topK");
        assertThat(d.capabilityMap()).contains(entry("causal", true), entry("crossAttention", false),
                entry("keyPaddingMask", true), entry("additiveBias", true), entry("incrementalDecoding", false),
                entry("exact", false));
    }
}
