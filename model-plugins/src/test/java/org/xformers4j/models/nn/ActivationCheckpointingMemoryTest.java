package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * Peak live tensor memory of one training step (forward and backward) of a 4-layer encoder at each
 * {@link ActivationCheckpointing} level, from the backend's counter of live buffer bytes and its
 * high-water mark ({@link MemoryStats}). A CPU buffer is released when the garbage collector
 * reclaims it, so garbage is collected ({@link MemoryProbe#collectGarbage()}) when every call of
 * the attention mechanism begins and ends (one per block, or one per head at {@link
 * ActivationCheckpointing#HEAD}), in the forward pass, in recomputations and in the backward pass;
 * the peak between two such points counts what is reachable (kept for backward) plus what was
 * computed since the first. Two peaks are reported: the whole step's, and the attention part's,
 * the highest level reached while an attention mechanism computes or back-propagates.
 */
class ActivationCheckpointingMemoryTest {

    private static final MemoryStats MEMORY = Backends.defaultBackend().memory();
    private static final int BATCH = 8;
    private static final int LENGTH = 256;
    private static final int DIM = 128;
    private static final int HEADS = 4;
    private static final int LAYERS = 4;

    /** The peaks of one measurement, above the level it started from. */
    private static final class Peaks {
        long base;
        long overall;
        long attention;

        /** Takes the peak of the interval that ends here into the overall one. */
        void fold() {
            overall = Math.max(overall, MEMORY.peakBytes() - base);
        }

        /** An attention call begins: what came before is collected and a new interval starts. */
        void begin() {
            fold();
            MemoryProbe.collectGarbage();
            MEMORY.resetPeak();
        }

        /** An attention call ends: its interval's peak is an attention peak. */
        void end() {
            fold();
            attention = Math.max(attention, MEMORY.peakBytes() - base);
            MemoryProbe.collectGarbage();
            MEMORY.resetPeak();
        }
    }

    private static Peaks peaks;

    /** The identity, which calls {@code atForward} in the forward pass and {@code atBackward} in the backward pass. */
    private static Tensor point(Tensor x, Runnable atForward, Runnable atBackward) {
        return new CustomFunction() {
            @Override
            protected Tensor forward(Tensor... inputs) {
                atForward.run();
                return inputs[0];
            }

            @Override
            protected Tensor[] backward(Tensor gradOutput) {
                atBackward.run();
                return new Tensor[] {gradOutput};
            }
        }.apply(x);
    }

    /**
     * Full attention marking where each of its calls begins and ends, in forward (query, then
     * output) and in backward (output gradient, then query gradient); heads independent.
     */
    @ComponentInfo(name = "test-probed-full-heads", summary = "Full attention marking its calls for memory peaks",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class ProbedFull implements AttentionMechanism {
        private final FullAttention full = new FullAttention(0f);

        @Override
        public boolean headsIndependent() {
            return full.headsIndependent();
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            Tensor q = point(query, () -> peaks.begin(), () -> peaks.end());
            return point(full.forward(q, key, value, context), () -> peaks.end(), () -> peaks.begin());
        }
    }

    /** The peaks of one forward and backward pass at {@code level}. */
    private static Peaks trainingPeaks(Tensor x, ActivationCheckpointing level) {
        EncoderConfig config = EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).checkpointing(level).build(),
                LAYERS).pooling(TransformerEncoder.Pooling.MEAN).build();
        TransformerEncoder encoder = new TransformerEncoder(config, ProbedFull::new, null, new SplittableRandom(8));
        peaks = new Peaks();
        MemoryProbe.collectGarbage();
        MEMORY.resetPeak();
        peaks.base = MEMORY.currentBytes();
        encoder.forward(x, null).pooled().sum().backward();
        peaks.fold();
        x.zeroGrad();
        return peaks;
    }

    /**
     * B=8, N=256, D=128, H=4, feed-forward 512, 4 layers, full attention. One [B, H, N, N] float
     * tensor is 8 MiB, one head of it 2 MiB, one [B, N, D] activation 1 MiB: OFF keeps every
     * block's scores, weights and feed-forward hidden states; BLOCK only the blocks' inputs, and one
     * block's activations while that block is recomputed and back-propagated; HEAD the same, but
     * the attention's [N, N] internals of one head at a time.
     */
    @Test
    void blockCheckpointingLowersThePeakAndHeadCheckpointingLowersItsAttentionPart() {
        Tensor x = Tensor.randn(new SplittableRandom(7), BATCH, LENGTH, DIM).requiresGrad(true);
        trainingPeaks(x, ActivationCheckpointing.BLOCK);                  // warm-up: earlier tests' tensors released
        Map<ActivationCheckpointing, Peaks> measured = new EnumMap<>(ActivationCheckpointing.class);
        for (ActivationCheckpointing level : ActivationCheckpointing.values()) {
            measured.put(level, trainingPeaks(x, level));
        }
        Peaks off = measured.get(ActivationCheckpointing.OFF);
        Peaks block = measured.get(ActivationCheckpointing.BLOCK);
        Peaks head = measured.get(ActivationCheckpointing.HEAD);
        System.out.printf("Encoder B=%d N=%d D=%d H=%d layers=%d full attention, peak live tensor bytes of a "
                        + "forward+backward pass: OFF %d, BLOCK %d, HEAD %d; while attention runs: OFF %d, BLOCK %d, "
                        + "HEAD %d%n", BATCH, LENGTH, DIM, HEADS, LAYERS, off.overall, block.overall, head.overall,
                off.attention, block.attention, head.attention);
        long scores = 4L * BATCH * HEADS * LENGTH * LENGTH;               // one [B, H, N, N] tensor, 8 MiB
        // OFF holds every layer's activations at once, BLOCK one layer's: more than 2 layers' scores apart
        assertThat(block.overall).isLessThan(off.overall - 2 * scores);
        assertThat(block.attention).isLessThan(off.attention - 2 * scores);
        // while attention runs, HEAD holds one head's internals where BLOCK holds all four's
        assertThat(head.attention).isLessThan(block.attention - scores);
        // outside attention HEAD is BLOCK, give or take short-lived garbage (narrow's backward allocates a
        // full-size zero gradient per head), which the collection points do not always catch
        assertThat(head.overall).isLessThanOrEqualTo(block.overall + scores);
    }
}
