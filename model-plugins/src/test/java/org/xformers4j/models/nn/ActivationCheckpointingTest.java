package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.KvCache;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@link BlockConfig#checkpointing()} in {@link TransformerEncoder} and {@link TransformerDecoder}
 * training: every level gives the loss and the gradients of {@link ActivationCheckpointing#OFF},
 * dropout and stochastic depth included, over several steps.
 */
class ActivationCheckpointingTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final int DIM = 16;
    private static final int HEADS = 4;
    private static final int LAYERS = 3;
    private static final int LENGTH = 6;
    private static final int VOCABULARY = 11;
    private static final int STEPS = 2;

    /** Full attention counting its calls and the heads of each, whose heads are independent as full's are. */
    @ComponentInfo(name = "test-counted-full", summary = "Full attention counting its calls",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class CountedFull implements AttentionMechanism {
        static final AtomicInteger HEADS_SEEN = new AtomicInteger();
        private final FullAttention full = new FullAttention(0f);

        @Override
        public boolean headsIndependent() {
            return true;
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            HEADS_SEEN.addAndGet(query.size(1));
            return full.forward(query, key, value, context);
        }
    }

    /** The loss and every gradient of one training step, by name ("input", then the parameters). */
    private record Step(float loss, Map<String, float[]> gradients) {
    }

    private static Supplier<AttentionMechanism> mechanisms(String name, Map<String, String> options) {
        return () -> REGISTRY.create(AttentionMechanism.class, name, options);
    }

    private static BlockConfig block(ActivationCheckpointing level, float residualDropout, float dropPath) {
        return BlockConfig.builder(DIM, HEADS).hidden(32).residualDropout(residualDropout).dropPath(dropPath)
                .checkpointing(level).build();
    }

    /** Sample 0 has its last two tokens padded, sample 1 none, sample 2 its last one. */
    private static Tensor padding() {
        float[] mask = new float[3 * LENGTH];
        mask[LENGTH - 2] = 1;
        mask[LENGTH - 1] = 1;
        mask[3 * LENGTH - 1] = 1;
        return Tensor.of(mask, 3, LENGTH);
    }

    /** {@link #STEPS} steps of an encoder (CLS, one register token, padding) regressing its pooled output. */
    private static List<Step> trainEncoder(EncoderConfig config, Supplier<AttentionMechanism> mechanisms) {
        TransformerEncoder encoder = new TransformerEncoder(config, mechanisms, null, new SplittableRandom(1));
        SplittableRandom rng = new SplittableRandom(2);
        Tensor x = Tensor.randn(rng, 3, LENGTH, DIM).requiresGrad(true);
        Tensor target = Tensor.randn(rng, 3, DIM);
        List<Step> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            Tensor loss = Functional.mseLoss(encoder.forward(x, padding()).pooled(), target);
            loss.backward();
            steps.add(record(loss, x, encoder.namedParameters()));
            encoder.zeroGrad();
            x.zeroGrad();
        }
        return steps;
    }

    private static Step record(Tensor loss, Tensor input, Map<String, Tensor> parameters) {
        Map<String, float[]> gradients = new LinkedHashMap<>();
        if (input != null) {
            gradients.put("input", input.grad().toFloatArray());
        }
        parameters.forEach((name, p) -> gradients.put(name, p.grad() == null ? null : p.grad().toFloatArray()));
        return new Step(loss.item(), gradients);
    }

    /** The same loss and gradients, bit for bit. */
    private static void assertIdentical(String what, List<Step> actual, List<Step> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int s = 0; s < expected.size(); s++) {
            assertThat(actual.get(s).loss()).as("%s step %d loss", what, s).isEqualTo(expected.get(s).loss());
            assertThat(actual.get(s).gradients().keySet()).containsExactlyElementsOf(expected.get(s).gradients().keySet());
            for (Map.Entry<String, float[]> e : expected.get(s).gradients().entrySet()) {
                assertThat(actual.get(s).gradients().get(e.getKey())).as("%s step %d %s", what, s, e.getKey())
                        .containsExactly(e.getValue());
            }
        }
    }

    /** The same loss and gradients to {@code tolerance} relative to each tensor's largest magnitude. */
    private static void assertClose(String what, List<Step> actual, List<Step> expected, float tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int s = 0; s < expected.size(); s++) {
            assertThat(actual.get(s).loss()).as("%s step %d loss", what, s)
                    .isCloseTo(expected.get(s).loss(), offset(tolerance * Math.max(1f, Math.abs(expected.get(s).loss()))));
            for (Map.Entry<String, float[]> e : expected.get(s).gradients().entrySet()) {
                float[] a = actual.get(s).gradients().get(e.getKey());
                float[] x = e.getValue();
                float scale = 1f;
                for (float v : x) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < x.length; i++) {
                    assertThat(a[i]).as("%s step %d %s[%d]", what, s, e.getKey(), i).isCloseTo(x[i],
                            offset(tolerance * scale));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = ActivationCheckpointing.class, names = {"BLOCK", "HEAD"})
    void encoderLossAndGradientsEqualStoredActivationsBitForBitWithDropoutAndStochasticDepth(
            ActivationCheckpointing level) {
        float attentionDropout = level == ActivationCheckpointing.HEAD ? 0f : 0.1f;
        List<Step> stored = trainEncoder(encoderConfig(ActivationCheckpointing.OFF, attentionDropout), CountedFull::new);
        CountedFull.HEADS_SEEN.set(0);
        List<Step> checkpointed = trainEncoder(encoderConfig(level, attentionDropout), CountedFull::new);
        assertIdentical(level.name(), checkpointed, stored);
        // the blocks were recomputed: BLOCK runs each block's attention twice a step, HEAD three times head by head
        int perStep = LAYERS * HEADS * (level == ActivationCheckpointing.HEAD ? 3 : 2);
        assertThat(CountedFull.HEADS_SEEN).hasValue(STEPS * perStep);
        // the randomness is live: without dropout and stochastic depth the loss is another
        EncoderConfig deterministic = EncoderConfig.builder(block(ActivationCheckpointing.OFF, 0f, 0f), LAYERS)
                .numRegisterTokens(1).build();
        assertThat(trainEncoder(deterministic, CountedFull::new).get(0).loss()).isNotEqualTo(stored.get(0).loss());
        assertThat(stored.get(1).loss()).isNotEqualTo(stored.get(0).loss());
    }

    private static EncoderConfig encoderConfig(ActivationCheckpointing level, float attentionDropout) {
        return EncoderConfig.builder(block(level, 0.2f, 0.3f), LAYERS).numRegisterTokens(1)
                .attentionDropout(attentionDropout).build();
    }

    /**
     * Other mechanisms: those whose heads are independent at both levels, Performer (which redraws
     * its features on every training call here, a state the recomputation must set back) and a
     * Linformer projection shared by every layer (a parameter outside the blocks) at BLOCK. Bit for
     * bit (tolerance 0) except where a sum is associated differently: the shared projection's
     * gradient sums the blocks' contributions each block's own first, and LSH attention one head at
     * a time rounds its rotations' products otherwise, both to float32 rounding.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "full||0|0",
        "flash||0|0",
        "local|chunkLength=2|0|0",
        "sliding-window|window=3|0|0",
        "lsh|chunkLength=3,numBuckets=2,numHashes=2|0|1e-6",
        "performer|features=8,redrawEvery=1|0|",
        "linformer|k=4,maxLength=8,sharing=LAYERWISE|1e-6|"})
    void everyLevelAMechanismAcceptsGivesTheGradientsOfStoredActivations(String name, String options,
                                                                         float blockTolerance, Float headTolerance) {
        Map<String, String> parsed = new LinkedHashMap<>();
        if (options != null) {
            for (String pair : options.split(",")) {
                String[] kv = pair.split("=");
                parsed.put(kv[0], kv[1]);
            }
        }
        Supplier<AttentionMechanism> mechanisms = mechanisms(name, parsed);
        List<Step> stored = trainEncoder(mechanismConfig(ActivationCheckpointing.OFF), mechanisms);
        assertEqual(name + " BLOCK", trainEncoder(mechanismConfig(ActivationCheckpointing.BLOCK), mechanisms), stored,
                blockTolerance);
        assertThat(mechanisms.get().headsIndependent()).isEqualTo(headTolerance != null);
        if (headTolerance != null) {
            assertEqual(name + " HEAD", trainEncoder(mechanismConfig(ActivationCheckpointing.HEAD), mechanisms), stored,
                    headTolerance);
        } else {
            assertThatThrownBy(() -> trainEncoder(mechanismConfig(ActivationCheckpointing.HEAD), mechanisms))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("TransformerEncoder: block 0: MultiHeadAttention: attention mechanism '"
                            + name + "' cannot be checkpointed one head at a time");
        }
    }

    private static void assertEqual(String what, List<Step> actual, List<Step> expected, float tolerance) {
        if (tolerance == 0f) {
            assertIdentical(what, actual, expected);
        } else {
            assertClose(what, actual, expected, tolerance);
        }
    }

    private static EncoderConfig mechanismConfig(ActivationCheckpointing level) {
        return EncoderConfig.builder(block(level, 0.2f, 0.3f), LAYERS).pooling(TransformerEncoder.Pooling.MEAN).build();
    }

    private static int[][] tokens(SplittableRandom rng, int batch, int length) {
        int[][] tokens = new int[batch][length];
        for (int[] row : tokens) {
            for (int i = 0; i < length; i++) {
                row[i] = rng.nextInt(VOCABULARY);
            }
        }
        return tokens;
    }

    /** Next-token cross-entropy of a causal language model, {@link #STEPS} steps. */
    private static List<Step> trainLanguageModel(ActivationCheckpointing level, float attentionDropout) {
        DecoderConfig config = new DecoderConfig(block(level, 0.2f, 0.3f), LAYERS, VOCABULARY, true, false,
                attentionDropout);
        TransformerDecoder decoder = new TransformerDecoder(config, CountedFull::new, null, null,
                new SplittableRandom(3));
        int[][] tokens = tokens(new SplittableRandom(4), 3, LENGTH + 1);
        int[][] input = new int[3][];
        int[] targets = new int[3 * LENGTH];
        for (int b = 0; b < 3; b++) {
            input[b] = java.util.Arrays.copyOf(tokens[b], LENGTH);
            System.arraycopy(tokens[b], 1, targets, b * LENGTH, LENGTH);
        }
        List<Step> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            Tensor loss = Functional.crossEntropy(decoder.forward(input, null).reshape(-1, VOCABULARY), targets);
            loss.backward();
            steps.add(record(loss, null, decoder.namedParameters()));
            decoder.zeroGrad();
        }
        return steps;
    }

    @ParameterizedTest
    @EnumSource(value = ActivationCheckpointing.class, names = {"BLOCK", "HEAD"})
    void causalDecoderLossAndGradientsEqualStoredActivationsBitForBit(ActivationCheckpointing level) {
        float attentionDropout = level == ActivationCheckpointing.HEAD ? 0f : 0.1f;
        assertIdentical(level.name(), trainLanguageModel(level, attentionDropout),
                trainLanguageModel(ActivationCheckpointing.OFF, attentionDropout));
    }

    /**
     * A decoder with cross-attention over a memory that needs a gradient: the decoder's parameters
     * get the same gradients bit for bit; the memory's gradient sums the blocks' contributions, each
     * block's own first when checkpointed, so it agrees to float32 rounding.
     */
    @ParameterizedTest
    @EnumSource(value = ActivationCheckpointing.class, names = {"BLOCK", "HEAD"})
    void crossAttentionDecoderGivesTheGradientsOfStoredActivations(ActivationCheckpointing level) {
        List<Step> stored = trainCrossAttention(ActivationCheckpointing.OFF);
        List<Step> checkpointed = trainCrossAttention(level);
        List<Step> withoutMemory = new ArrayList<>();
        List<Step> storedWithoutMemory = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            withoutMemory.add(without(checkpointed.get(s), "input"));
            storedWithoutMemory.add(without(stored.get(s), "input"));
        }
        assertIdentical(level.name(), withoutMemory, storedWithoutMemory);
        assertClose(level.name() + " memory", checkpointed, stored, 1e-6f);
    }

    private static Step without(Step step, String name) {
        Map<String, float[]> gradients = new LinkedHashMap<>(step.gradients());
        gradients.remove(name);
        return new Step(step.loss(), gradients);
    }

    private static List<Step> trainCrossAttention(ActivationCheckpointing level) {
        DecoderConfig config = new DecoderConfig(block(level, 0.2f, 0.3f), LAYERS, VOCABULARY, false, true, 0f);
        TransformerDecoder decoder = new TransformerDecoder(config, CountedFull::new, CountedFull::new, null,
                new SplittableRandom(5));
        SplittableRandom rng = new SplittableRandom(6);
        Tensor memory = Tensor.randn(rng, 3, LENGTH - 1, DIM).requiresGrad(true);
        Tensor sourcePadding = Tensor.of(new float[] {0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 3, LENGTH - 1);
        TransformerBlock.Memory attended = new TransformerBlock.Memory(memory,
                AttentionContext.builder().keyPaddingMask(sourcePadding).build());
        int[][] input = tokens(rng, 3, LENGTH);
        int[] targets = tokens(rng, 1, 3 * LENGTH)[0];
        List<Step> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            Tensor loss = Functional.crossEntropy(decoder.forward(input, attended).reshape(-1, VOCABULARY), targets);
            loss.backward();
            steps.add(record(loss, memory, decoder.namedParameters()));
            decoder.zeroGrad();
            memory.zeroGrad();
        }
        return steps;
    }

    @Test
    void evaluationAndCachedDecodingRunAsWithoutCheckpointing() {
        DecoderConfig stored = new DecoderConfig(block(ActivationCheckpointing.OFF, 0.2f, 0.3f), LAYERS, VOCABULARY,
                true, false, 0f);
        DecoderConfig perHead = new DecoderConfig(block(ActivationCheckpointing.HEAD, 0.2f, 0.3f), LAYERS,
                VOCABULARY, true, false, 0f);
        TransformerDecoder a = new TransformerDecoder(stored, CountedFull::new, null, null, new SplittableRandom(7));
        TransformerDecoder b = new TransformerDecoder(perHead, CountedFull::new, null, null, new SplittableRandom(7));
        a.eval();
        b.eval();
        int[][] prompt = tokens(new SplittableRandom(8), 2, 4);
        CountedFull.HEADS_SEEN.set(0);
        Tensor whole = b.forward(prompt, null);
        assertThat(CountedFull.HEADS_SEEN).hasValue(LAYERS * HEADS);            // all heads at once, once
        assertThat(whole.toFloatArray()).containsExactly(a.forward(prompt, null).toFloatArray());
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            KvCache[] caches = b.newCaches();
            int[][] first = {java.util.Arrays.copyOf(prompt[0], 3), java.util.Arrays.copyOf(prompt[1], 3)};
            b.states(first, 0, caches, null);
            Tensor last = b.logits(b.states(new int[][] {{prompt[0][3]}, {prompt[1][3]}}, 3, caches, null));
            float[] expected = whole.narrow(1, 3, 1).toFloatArray();
            float[] actual = last.toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("cached logit %d", i).isCloseTo(expected[i], offset(1e-5f));
            }
        }
    }

    @Test
    void configurationsThatCannotWorkAreRefusedNamingTheField() {
        assertThatThrownBy(() -> BlockConfig.builder(DIM, HEADS).checkpointing(null).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("BlockConfig: checkpointing must not be null");
        assertThatThrownBy(() -> EncoderConfig.builder(block(ActivationCheckpointing.BLOCK, 0f, 0f), 2)
                .reversible(true).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("EncoderConfig: reversible blocks already recompute every activation in "
                        + "backward, so block.checkpointing must be OFF, got BLOCK");
        assertThatThrownBy(() -> EncoderConfig.builder(block(ActivationCheckpointing.HEAD, 0f, 0f), 2)
                .attentionDropout(0.1f).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("EncoderConfig: block.checkpointing HEAD runs the attention one head at a time")
                .hasMessageContaining("attentionDropout must be 0, got 0.1");
        assertThatThrownBy(() -> new DecoderConfig(block(ActivationCheckpointing.HEAD, 0f, 0f), 2, VOCABULARY, true,
                false, 0.2f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("DecoderConfig: block.checkpointing HEAD")
                .hasMessageContaining("attentionDropout must be 0, got 0.2");
        // BLOCK takes attention dropout, and HEAD every other kind of randomness
        assertThat(EncoderConfig.builder(block(ActivationCheckpointing.BLOCK, 0.1f, 0.1f), 2).attentionDropout(0.1f)
                .build().block().checkpointing()).isEqualTo(ActivationCheckpointing.BLOCK);
        assertThat(block(ActivationCheckpointing.HEAD, 0.1f, 0.1f).withDropPath(0.05f).checkpointing())
                .isEqualTo(ActivationCheckpointing.HEAD);
        assertThatThrownBy(() -> new TransformerDecoder(new DecoderConfig(block(ActivationCheckpointing.HEAD, 0f, 0f),
                2, VOCABULARY, true, false, 0f), mechanisms("performer", Map.of()), null, null, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TransformerDecoder: block 0: MultiHeadAttention: attention mechanism "
                        + "'performer' cannot be checkpointed one head at a time");
    }
}
