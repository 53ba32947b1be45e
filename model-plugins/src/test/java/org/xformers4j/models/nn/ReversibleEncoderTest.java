package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.models.nn.ChunkedFeedForwardTest.assertClose;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.optim.AdamW;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/** A {@link TransformerEncoder} with {@link EncoderConfig#reversible()} blocks (Kitaev et al., 2020, Reformer). */
class ReversibleEncoderTest {

    private static final int DIM = 8;
    private static final int HEADS = 2;

    private static EncoderConfig.Builder config(int layers, int chunkSize) {
        return EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).hidden(16).feedForwardChunkSize(chunkSize).build(),
                layers).pooling(TransformerEncoder.Pooling.MEAN).reversible(true);
    }

    private static TransformerEncoder encoder(EncoderConfig config, long seed) {
        return new TransformerEncoder(config, () -> new FullAttention(0f), null, new SplittableRandom(seed));
    }

    /** Sample 0 has its last two of five tokens padded, sample 1 none. */
    private static Tensor padding() {
        return Tensor.of(new float[] {0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2, 5);
    }

    @Test
    void outputAndGradientsEqualTheTwoStreamComputationWithStoredActivations() {
        TransformerEncoder encoder = encoder(config(3, 3).build(), 1);   // MEAN pooling: no prefix tokens
        SplittableRandom rng = new SplittableRandom(2);
        Tensor x = Tensor.randn(rng, 2, 5, DIM).requiresGrad(true);
        Tensor weights = Tensor.randn(rng, 2, 5, DIM);

        Tensor reversible = encoder.forward(x, padding()).sequence();
        reversible.mul(weights).sum().backward();
        Tensor dx = x.grad();
        Map<String, Tensor> paramGrads = new LinkedHashMap<>();
        encoder.namedParameters().forEach((name, p) -> paramGrads.put(name, p.grad()));
        encoder.zeroGrad();
        x.zeroGrad();

        // (x, x) through the blocks' F and G with autograd storing everything, mean of the streams, final norm
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding()).build();
        Tensor[] streams = {x, x};
        for (int l = 0; l < 3; l++) {
            streams = encoder.block(l).reversible(context).forward(streams[0], streams[1]);
        }
        Tensor finalNorm = encoder.namedParameters().get("finalNorm.weight");        // still 1 (and bias 0): untrained
        assertThat(finalNorm.toFloatArray()).containsOnly(1f);
        Tensor stored = NormKind.LAYER.create(DIM).forward().apply(streams[0].add(streams[1]).mul(0.5f));
        stored.mul(weights).sum().backward();

        assertClose("output", reversible, stored, 1e-5f);
        assertClose("input grad", dx, x.grad(), 1e-4f);
        encoder.namedParameters().forEach((name, p) -> {
            if (name.startsWith("blocks.")) {
                assertClose(name + " grad", paramGrads.get(name), p.grad(), 1e-4f);
            }
        });
        assertThat(paramGrads.keySet()).contains("blocks.2.attention.query.weight", "blocks.0.feedForward.up.weight");
    }

    @Test
    void trainsOnATinyTask() {
        TransformerEncoder encoder = encoder(config(2, 4).build(), 3);
        SplittableRandom rng = new SplittableRandom(4);
        Tensor x = Tensor.randn(rng, 8, 5, DIM);
        Tensor target = Tensor.randn(rng, 8, DIM);        // memorise one vector per example
        AdamW optimizer = new AdamW(encoder, 1e-2f);
        float first = Float.NaN;
        float last = Float.NaN;
        for (int step = 0; step < 40; step++) {
            optimizer.zeroGrad();
            Tensor loss = Functional.mseLoss(encoder.forward(x, null).pooled(), target);
            loss.backward();
            optimizer.step();
            last = loss.item();
            first = step == 0 ? last : first;
        }
        System.out.printf("Reversible encoder, tiny regression: loss %.4f -> %.4f%n", first, last);
        assertThat(last).isLessThan(0.5f * first);
    }

    @Test
    void attentionWeightsAreThoseOfEachBlocksAttentionInput() {
        TransformerEncoder encoder = encoder(config(2, 0).build(), 5);
        Tensor x = Tensor.randn(new SplittableRandom(6), 2, 5, DIM);
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding()).build();

        var weights = encoder.attentionWeights(x, padding());

        Tensor[] streams = encoder.block(0).reversible(context).forward(x, x);
        assertClose("block 0", weights.get(0), encoder.block(0).attentionWeights(x, context), 1e-6f);
        assertClose("block 1", weights.get(1), encoder.block(1).attentionWeights(streams[1], context), 1e-6f);
    }

    @Test
    void configRejectsWhatRecomputationCannotReproduceNamingTheField() {
        BlockConfig.Builder block = BlockConfig.builder(DIM, HEADS);
        assertThatThrownBy(() -> EncoderConfig.builder(block.placement(NormPlacement.POST).build(), 2).reversible(true)
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reversible blocks need block.placement PRE").hasMessageContaining("POST");
        assertThatThrownBy(() -> EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).placement(NormPlacement.SANDWICH)
                .build(), 2).reversible(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SANDWICH");
        assertThatThrownBy(() -> EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).residualDropout(0.1f).build(), 2)
                .reversible(true).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block.residualDropout, block.dropPath and attentionDropout must be 0, got 0.1");
        assertThatThrownBy(() -> EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).dropPath(0.2f).build(), 2)
                .reversible(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.2");
        assertThatThrownBy(() -> EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).build(), 2)
                .attentionDropout(0.3f).reversible(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.3");
    }

    /** Full attention with a garbage collection point on its output in forward and backward (see {@link MemoryProbe}). */
    @ComponentInfo(name = "test-probed-full", summary = "Full attention collecting garbage around its output",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class ProbedAttention implements AttentionMechanism {
        private final FullAttention full = new FullAttention(0f);

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return MemoryProbe.collectPoint(full.forward(query, key, value, context));
        }
    }

    /**
     * Batch 16 of 64 tokens, width 64, 4 heads, feed-forward 256: an ordinary block stores a few
     * MiB of activations (attention scores and probabilities, feed-forward hidden), the reversible
     * stack only its streams and one block's recomputation.
     */
    @Test
    void peakTrainingMemoryGrowsMoreSlowlyWithLayersThanTheOrdinaryEncoder() {
        int[] depths = {2, 4, 8};
        long[] reversible = new long[depths.length];
        long[] stored = new long[depths.length];
        SplittableRandom rng = new SplittableRandom(7);
        Tensor x = Tensor.randn(rng, 16, 64, 64).requiresGrad(true);
        trainingPeakBytes(x, 2, true);                 // warm-up: lets earlier tests' tensors be released first
        for (int i = 0; i < depths.length; i++) {
            reversible[i] = trainingPeakBytes(x, depths[i], true);
            stored[i] = trainingPeakBytes(x, depths[i], false);
        }
        System.out.printf("Encoder peak forward+backward bytes by layers %s: reversible %s, ordinary %s%n",
                Arrays.toString(depths), Arrays.toString(reversible), Arrays.toString(stored));
        // measured: reversible 33, 30, 35 MB (flat); ordinary 32, 53, 96 MB (about 11 MB a block)
        assertThat(reversible[2] - reversible[0]).isLessThan((stored[2] - stored[0]) / 3);
        assertThat(reversible[2]).isLessThan(stored[2] / 2);
    }

    /** Peak bytes of one forward and backward pass of an encoder of {@code layers} 64-wide blocks. */
    private static long trainingPeakBytes(Tensor x, int layers, boolean reversible) {
        EncoderConfig config = EncoderConfig.builder(BlockConfig.builder(64, 4).build(), layers)
                .pooling(TransformerEncoder.Pooling.MEAN).reversible(reversible).build();
        TransformerEncoder encoder = new TransformerEncoder(config, ProbedAttention::new, null, new SplittableRandom(8));
        return MemoryProbe.peakBytes(() -> encoder.forward(x, null).pooled().sum().backward());
    }
}
