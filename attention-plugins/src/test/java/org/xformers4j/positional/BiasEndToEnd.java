package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.xformers4j.attention.exact.FlashAttention;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Runs a bias-producing encoding through {@link MultiHeadAttention} (hook 3) with full and with
 * flash attention: same outputs, same gradients for the encoding's parameters, and incremental
 * decoding in pieces equal to one causal forward (so the query offsets are right end to end).
 */
final class BiasEndToEnd {

    private static final int MODEL_DIM = 16;
    private static final int BATCH = 2;
    private static final int LENGTH = 7;

    private BiasEndToEnd() {
    }

    /** {@code encoding} initialised with ({@value #MODEL_DIM}, heads); {@code heads} divides {@value #MODEL_DIM}. */
    static void check(PositionalEncoding encoding, int heads) {
        check(encoding, heads, false, true);
    }

    /** {@link #check} for an encoding meant for causal attention only (decoders): no non-causal pass. */
    static void checkCausal(PositionalEncoding encoding, int heads) {
        check(encoding, heads, true);
    }

    private static void check(PositionalEncoding encoding, int heads, boolean... contexts) {
        Tensor x = Tensor.randn(new SplittableRandom(11), BATCH, LENGTH, MODEL_DIM);
        Tensor weights = Tensor.randn(new SplittableRandom(12), BATCH, LENGTH, MODEL_DIM);
        for (boolean causal : contexts) {
            AttentionContext context = AttentionContext.builder().causal(causal).build();
            MultiHeadAttention full = layer(new FullAttention(0f), encoding, heads);
            MultiHeadAttention flash = layer(new FlashAttention(0f), encoding, heads);

            Tensor fullOut = full.selfAttention(x, context);
            assertThat(fullOut.shape()).containsExactly(BATCH, LENGTH, MODEL_DIM);
            List<float[]> fullGrads = encodingGradients(encoding, fullOut, weights);
            Tensor flashOut = flash.selfAttention(x, context);
            List<float[]> flashGrads = encodingGradients(encoding, flashOut, weights);
            assertClose(flashOut.toFloatArray(), fullOut.toFloatArray(), "flash vs full output, causal " + causal);
            for (int p = 0; p < fullGrads.size(); p++) {
                assertClose(flashGrads.get(p), fullGrads.get(p), "flash vs full gradient of parameter " + p);
            }
        }

        // causal decoding in pieces of 3, 1 and 3 tokens: queries at offsets 0, 3 and 4
        MultiHeadAttention full = layer(new FullAttention(0f), encoding, heads);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        float[] whole = full.selfAttention(x, causal).toFloatArray();
        KvCache cache = new KvCache();
        int start = 0;
        for (int piece : new int[] {3, 1, 3}) {
            float[] step = full.selfAttentionStep(x.narrow(1, start, piece), causal, cache).toFloatArray();
            for (int b = 0; b < BATCH; b++) {
                for (int e = 0; e < piece * MODEL_DIM; e++) {
                    assertThat(step[(b * piece) * MODEL_DIM + e]).as("batch %d, position %d of the piece from %d", b,
                                    e / MODEL_DIM, start)
                            .isCloseTo(whole[(b * LENGTH + start) * MODEL_DIM + e], within(1e-5f));
                }
            }
            start += piece;
        }
    }

    /** A layer whose projections depend only on the seed, so two layers differ only in the mechanism. */
    private static MultiHeadAttention layer(AttentionMechanism mechanism, PositionalEncoding encoding, int heads) {
        return new MultiHeadAttention(MODEL_DIM, heads, mechanism, encoding, true, new SplittableRandom(7));
    }

    /** Backpropagates Σ weights·out and returns copies of the encoding's parameter gradients, then clears them. */
    private static List<float[]> encodingGradients(PositionalEncoding encoding, Tensor out, Tensor weights) {
        out.mul(weights).sum().backward();
        List<float[]> grads = new ArrayList<>();
        if (encoding instanceof Module module) {
            for (Tensor p : module.parameters()) {
                assertThat(p.grad()).as("gradient of an encoding parameter").isNotNull();
                grads.add(p.grad().toFloatArray());
            }
            module.zeroGrad();
        }
        return grads;
    }

    private static void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int e = 0; e < actual.length; e++) {
            assertThat(actual[e]).as("%s, element %d", what, e)
                    .isCloseTo(expected[e], within(2e-5f * (1 + Math.abs(expected[e]))));
        }
    }
}
