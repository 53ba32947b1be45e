package org.xformers4j.models.lm;

import org.xformers4j.train.RunSettings;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.DefaultBackendGuard;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.decoding.BeamSearchDecoding;
import org.xformers4j.decoding.ContrastiveSearchDecoding;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Language and sequence-to-sequence models built on a second CPU backend instance train a step
 * and decode there without touching the default backend: with a default that refuses every call
 * installed, the forward and backward passes, the optimiser, evaluation and decoding sessions
 * (cached and recomputed, greedy, beam and contrastive) all run on the network's backend.
 */
class BackendNeutralityTest {

    private static final GenerationConfig FIVE_TOKENS = GenerationConfig.builder().maxNewTokens(5).build();

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    /** Two blocks with residual dropout, and attention dropout where the mechanism forms attention weights. */
    private static Architecture architecture(String attention, String positional, float attentionDropout) {
        return Architecture.builder().modelDim(8).heads(2).layers(2).hidden(16).dropout(0.1f)
                .attentionDropout(attentionDropout).attention(attention, Map.of()).positional(positional, Map.of())
                .pooling(TransformerEncoder.Pooling.MEAN).build();
    }

    private static void assertOn(CpuBackend backend, Module network) {
        assertThat(network.parameters()).isNotEmpty().allSatisfy(p -> assertThat(p.backend()).isSameAs(backend));
    }

    /** One AdamW step on the mean of {@code loss}, with gradient clipping. */
    private static void step(Module network, Tensor loss) {
        AdamW optimizer = new AdamW(network, 1e-2f);
        network.train();
        loss.backward();
        GradientClipping.clipGradNorm(network.parameters(), 1f);
        optimizer.step();
        optimizer.zeroGrad();
    }

    @ParameterizedTest(name = "{0} + {1}")
    @CsvSource({"full, alibi, 0.1", "flash, rotary, 0.1", "sliding-window, t5-bias, 0.1",
            "local, dynamic-bias, 0.1", "linear, sinusoidal, 0", "performer, learned, 0", "hydra, xpos, 0"})
    void aLanguageModelTrainsAndDecodesOnItsOwnBackend(String attention, String positional, float attentionDropout) {
        Architecture architecture = architecture(attention, positional, attentionDropout);
        ByteTokenizer tokenizer = new ByteTokenizer(List.of());
        CpuBackend second = new CpuBackend();
        TransformerDecoder decoder;
        try (Backends.Scope ignored = Backends.use(second)) {
            decoder = architecture.decoder(REGISTRY, tokenizer.vocabularySize(), false, new SplittableRandom(1));
        }
        assertOn(second, decoder);
        LanguageModel model = new LanguageModel(architecture, 8, tokenizer, decoder);
        float[] before = decoder.parameters().get(0).toFloatArray();
        second.memory().resetPeak();

        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            decoder.train();
            int[][] inputs = {tokenizer.encode("the whal"), tokenizer.encode("a sea of")};
            int[] targets = new int[16];
            System.arraycopy(tokenizer.encode("he whale"), 0, targets, 0, 8);
            System.arraycopy(tokenizer.encode(" sea of "), 0, targets, 8, 8);
            Tensor logits = decoder.forward(inputs, null);                                  // [2, 8, V]
            step(decoder, Functional.crossEntropy(logits.reshape(16, -1), targets));
            assertThat(model.evaluate("the whale and the sea", 0).loss()).isFinite();
            assertThat(model.generate("the ", new GreedyDecoding(), FIVE_TOKENS)).hasSize(1);
            assertThat(model.generate("the ", new BeamSearchDecoding(2), FIVE_TOKENS)).isNotEmpty();
            assertThat(model.generate("the ", new ContrastiveSearchDecoding(0.6, 3), FIVE_TOKENS)).hasSize(1);
            assertThat(new GreedyDecoding().generate(model.session(false), new int[][] {tokenizer.encode("a sea")},
                    FIVE_TOKENS)).hasSize(1);
            guard.assertUntouched();
        }
        assertThat(decoder.parameters().get(0).toFloatArray()).isNotEqualTo(before);
        assertThat(second.memory().allocatedBytesSinceReset()).isPositive();
    }

    @Test
    void aSequenceToSequenceModelWithPaddedSourcesTrainsAndDecodesOnItsOwnBackend() {
        ByteTokenizer tokenizer = new ByteTokenizer(List.of(Seq2SeqModel.START_TOKEN, Seq2SeqModel.END_TOKEN));
        CpuBackend second = new CpuBackend();
        Seq2SeqModel model;
        try (Backends.Scope ignored = Backends.use(second)) {
            model = Seq2SeqModel.create(architecture("full", "learned", 0.1f), 8, tokenizer, REGISTRY,
                    new SplittableRandom(2));
        }
        assertOn(second, model.network());
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            List<Source> sources = List.of(new Source.Text("abc"), new Source.Text("a"));     // padded: a mask
            int[][] targets = {model.targetTokens("cba"), model.targetTokens("a")};
            step(model.network(), model.loss(sources, targets));
            assertThat(model.generate(new Source.Text("ab"), new GreedyDecoding(), FIVE_TOKENS, true)).hasSize(1);
            assertThat(model.generate(new Source.Text("ab"), new BeamSearchDecoding(2), FIVE_TOKENS, false)).isNotEmpty();
            guard.assertUntouched();
        }
    }

    /** The whole trainer run inside the scope: the model it returns generates on that backend. */
    @Test
    void aTrainedLanguageModelGeneratesOnTheBackendItWasTrainedOn() {
        CpuBackend second = new CpuBackend();
        LanguageModel model;
        try (Backends.Scope ignored = Backends.use(second)) {
            model = LanguageModelTrainer.builder().architecture(TextModelTrainer.DEFAULT_ARCHITECTURE.toBuilder()
                            .modelDim(8).heads(2).layers(1).hidden(16).build()).contextLength(8)
                    .run(RunSettings.builder().batchSize(2).validationFraction(0.3f).seed(3).build())
                    .optimization(TextModelTrainer.optimizationDefaults().warmupSteps(0).build())
                    .steps(2).evaluateEvery(1).evaluationWindows(1)
                    .build().train("call me ishmael. some years ago, never mind how long", point -> { })
                    .model();
        }
        assertOn(second, model.network());
        try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
            assertThat(model.generate("call ", new GreedyDecoding(), FIVE_TOKENS)).hasSize(1);
            guard.assertUntouched();
        }
    }
}
