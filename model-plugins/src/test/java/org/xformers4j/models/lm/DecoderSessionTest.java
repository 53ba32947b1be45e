package org.xformers4j.models.lm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.decoding.BeamSearchDecoding;
import org.xformers4j.decoding.ContrastiveSearchDecoding;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.nn.BlockConfig;
import org.xformers4j.models.nn.DecoderConfig;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A decoding session over a random decoder: prompts of different lengths, hidden states for
 * contrastive search, and cached decoding against recomputing the prefix at every step.
 */
class DecoderSessionTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final int DIM = 16;
    private static final int VOCABULARY = 11;
    private static final int[][] PROMPTS = {{1, 2}, {3, 4, 5, 6}, {7, 8}};

    /** Two flash-attention blocks with rotary positions and weights large enough for peaked distributions. */
    private static TransformerDecoder decoder() {
        return decoder("flash");
    }

    /** {@link #decoder()} with the attention mechanism {@code attention} (with its default options). */
    private static TransformerDecoder decoder(String attention) {
        DecoderConfig config = new DecoderConfig(BlockConfig.builder(DIM, 2).hidden(32).build(), 2, VOCABULARY, true,
                false, 0f);
        TransformerDecoder decoder = new TransformerDecoder(config,
                () -> REGISTRY.create(AttentionMechanism.class, attention, Map.of()), null,
                REGISTRY.create(PositionalEncoding.class, "rotary", Map.of()), new SplittableRandom(1));
        SplittableRandom rng = new SplittableRandom(2);
        Map<String, ParameterState> state = new LinkedHashMap<>();
        decoder.stateDict().forEach((name, s) -> {
            float[] values = new float[s.values().length];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (0.4 * rng.nextGaussian());
            }
            state.put(name, new ParameterState(s.shape(), values));
        });
        decoder.loadStateDict(state);
        return decoder;
    }

    private static float[] lastLogits(TransformerDecoder decoder, int[] tokens) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor logits = decoder.forward(new int[][] {tokens}, null);
            return logits.narrow(1, tokens.length - 1, 1).toFloatArray();
        }
    }

    private static float[] states(TransformerDecoder decoder, int[] tokens) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return decoder.states(new int[][] {tokens}, 0, null, null).toFloatArray();
        }
    }

    private static void assertClose(String what, float[] actual, float[] expected, double tolerance) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("%s, element %d", what, i)
                    .isCloseTo(expected[i], offset(tolerance * (1 + Math.abs(expected[i]))));
        }
    }

    @Test
    void startGivesEachPromptTheLogitsOfItsOwnRunWhateverTheLengths() {
        TransformerDecoder decoder = decoder();
        for (boolean cached : new boolean[] {true, false}) {
            float[] logits = new DecoderSession(decoder, cached, null).start(PROMPTS).toFloatArray();
            assertThat(logits).hasSize(PROMPTS.length * VOCABULARY);
            for (int r = 0; r < PROMPTS.length; r++) {
                assertClose("cached " + cached + ", prompt " + r,
                        Arrays.copyOfRange(logits, r * VOCABULARY, (r + 1) * VOCABULARY),
                        lastLogits(decoder, PROMPTS[r]), 1e-5);
            }
        }
    }

    @Test
    void advanceGivesTheLogitsOfTheGrownRowsFollowingTheirOrigins() {
        TransformerDecoder decoder = decoder();
        DecoderSession session = new DecoderSession(decoder, true, null);
        session.start(PROMPTS);
        // Row 0 continues prompt 1 twice (as beams would), row 2 continues prompt 2; prompt 0 is dropped.
        int[] origins = {1, 2, 1};
        int[] tokens = {9, 10, 0};
        float[] logits = session.advance(tokens, origins).toFloatArray();
        for (int r = 0; r < 3; r++) {
            int[] grown = Arrays.copyOf(PROMPTS[origins[r]], PROMPTS[origins[r]].length + 1);
            grown[grown.length - 1] = tokens[r];
            assertClose("row " + r, Arrays.copyOfRange(logits, r * VOCABULARY, (r + 1) * VOCABULARY),
                    lastLogits(decoder, grown), 1e-5);
        }
    }

    @Test
    void withAWindowTheModelSeesOnlyTheCurrentContextCachedOrNot() {
        TransformerDecoder decoder = decoder();
        int window = 8;                           // a restart keeps the last 6 tokens (3/4 of the window)
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};        // longer than the window: cut to its last 8
        // {row length, first token the model sees}: a row longer than 8 restarts from its last 6 tokens
        int[][] expectedStarts = {{10, 2}, {11, 5}, {12, 5}, {13, 5}, {14, 8}, {15, 8}, {16, 8}, {17, 11}};
        for (boolean cached : new boolean[] {true, false}) {
            DecoderSession session = new DecoderSession(decoder, cached, null, window);
            int[] row = prompt.clone();
            float[] logits = session.start(new int[][] {row}).toFloatArray();
            for (int[] expected : expectedStarts) {
                assertThat(row).hasSize(expected[0]);
                assertClose("cached " + cached + ", length " + row.length, logits,
                        lastLogits(decoder, Arrays.copyOfRange(row, expected[1], row.length)), 1e-5);
                int token = row.length % VOCABULARY;
                row = Arrays.copyOf(row, row.length + 1);
                row[row.length - 1] = token;
                logits = session.advance(new int[] {token}, new int[] {0}).toFloatArray();
            }
        }
        assertThatThrownBy(() -> new DecoderSession(decoder, true, null, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("window");
    }

    /**
     * Every registered strategy, on a session whose window is shorter than a prompt, generates
     * what it generates from the prompt cut to the window: the session shows the model (and a
     * strategy reading hidden states, such as contrastive search) only the tokens it sees.
     */
    @ParameterizedTest
    @ValueSource(strings = {"greedy", "sample", "beam", "diverse-beam", "contrastive"})
    void everyStrategyTakesAPromptLongerThanTheWindow(String name) {
        int window = 3;
        int[][] longPrompts = {{1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 1, 2}};
        int[][] cutPrompts = {{5, 6, 7}, {10, 1, 2}};
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(2).seed(3).build();
        for (boolean cached : new boolean[] {true, false}) {
            DecodingStrategy strategy = REGISTRY.create(DecodingStrategy.class, name, Map.of());
            List<List<GeneratedSequence>> whole = strategy.generate(new DecoderSession(decoder(), cached, null, window),
                    longPrompts, config);
            List<List<GeneratedSequence>> cut = strategy.generate(new DecoderSession(decoder(), cached, null, window),
                    cutPrompts, config);
            for (int p = 0; p < longPrompts.length; p++) {
                assertThat(whole.get(p).get(0).tokens()).as("%s, cached %s, prompt %d", name, cached, p)
                        .containsExactly(cut.get(p).get(0).tokens());
                assertThat(whole.get(p).get(0).score()).isCloseTo(cut.get(p).get(0).score(), offset(1e-4));
            }
        }
    }

    @Test
    void beamSearchAcrossContextRestartsIsTheSameCachedOrNot() {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(14).numReturnSequences(2).build();
        BeamSearchDecoding beam = new BeamSearchDecoding(3);
        List<List<GeneratedSequence>> cached = beam.generate(new DecoderSession(decoder(), true, null, 6), PROMPTS,
                config);
        List<List<GeneratedSequence>> recomputed = beam.generate(new DecoderSession(decoder(), false, null, 6),
                PROMPTS, config);
        for (int p = 0; p < PROMPTS.length; p++) {
            for (int s = 0; s < 2; s++) {
                assertThat(cached.get(p).get(s).tokens()).containsExactly(recomputed.get(p).get(s).tokens());
                assertThat(cached.get(p).get(s).score()).isCloseTo(recomputed.get(p).get(s).score(), offset(1e-4));
            }
        }
    }

    private static List<List<GeneratedSequence>> generate(DecodingStrategy strategy, boolean cached, int sequences) {
        return generate("flash", strategy, cached, sequences);
    }

    private static List<List<GeneratedSequence>> generate(String attention, DecodingStrategy strategy, boolean cached,
                                                          int sequences) {
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(6).numReturnSequences(sequences).build();
        return strategy.generate(new DecoderSession(decoder(attention), cached, null), PROMPTS, config);
    }

    private static void assertSameGenerations(List<List<GeneratedSequence>> cached,
                                              List<List<GeneratedSequence>> recomputed, int sequences) {
        assertThat(cached).hasSize(PROMPTS.length);
        for (int p = 0; p < PROMPTS.length; p++) {
            assertThat(cached.get(p)).hasSize(sequences).hasSameSizeAs(recomputed.get(p));
            for (int s = 0; s < sequences; s++) {
                GeneratedSequence a = cached.get(p).get(s);
                GeneratedSequence b = recomputed.get(p).get(s);
                assertThat(a.tokens()).as("prompt %d, sequence %d", p, s).containsExactly(b.tokens());
                assertThat(a.tokens()).hasSize(6);
                assertThat(a.score()).isCloseTo(b.score(), offset(1e-4));
                assertThat(a.logProbability()).isCloseTo(b.logProbability(), offset(1e-4));
            }
        }
    }

    /** Softmax attention caches keys and values; the kernel attentions keep a recurrent state instead. */
    @ParameterizedTest
    @ValueSource(strings = {"flash", "linear", "performer", "hydra"})
    void greedyGenerationWithCachesEqualsRecomputingThePrefix(String attention) {
        assertThat(decoder(attention).cachesKeysAndValues()).isTrue();
        assertSameGenerations(generate(attention, new GreedyDecoding(), true, 1),
                generate(attention, new GreedyDecoding(), false, 1), 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"flash", "linear", "performer", "hydra"})
    void beamSearchWithReorderedCachesEqualsRecomputingThePrefix(String attention) {
        List<List<GeneratedSequence>> cached = generate(attention, new BeamSearchDecoding(3), true, 3);
        assertSameGenerations(cached, generate(attention, new BeamSearchDecoding(3), false, 3), 3);
        // The beams differ, so the caches were really reordered among distinct hypotheses.
        assertThat(cached.get(1).stream().map(s -> Arrays.toString(s.tokens())).distinct()).hasSize(3);
    }

    @Test
    void contrastiveSearchOnASessionIsTheSameCachedOrNot() {
        ContrastiveSearchDecoding contrastive = new ContrastiveSearchDecoding(0.9, 6);
        List<List<GeneratedSequence>> cached = generate(contrastive, true, 1);
        assertSameGenerations(cached, generate(contrastive, false, 1), 1);
        List<List<GeneratedSequence>> greedy = generate(new GreedyDecoding(), true, 1);
        boolean differs = false;
        for (int p = 0; p < PROMPTS.length; p++) {
            differs |= !Arrays.equals(cached.get(p).get(0).tokens(), greedy.get(p).get(0).tokens());
        }
        assertThat(differs).as("the degeneration penalty changes some choice").isTrue();
    }

    @Test
    void lastHiddenStatesAreTheDecodersFinalStatesOfTheTokensJustFed() {
        TransformerDecoder decoder = decoder();
        for (boolean cached : new boolean[] {true, false}) {
            DecoderSession session = new DecoderSession(decoder, cached, null);
            assertThat(session.hiddenSize()).isEqualTo(DIM);
            assertThat(session.vocabularySize()).isEqualTo(VOCABULARY);
            session.start(PROMPTS);
            float[][] started = session.lastHiddenStates();
            assertThat(started.length).isEqualTo(PROMPTS.length);
            for (int r = 0; r < PROMPTS.length; r++) {
                assertThat(started[r]).hasSize(PROMPTS[r].length * DIM);
                assertClose("cached " + cached + ", prompt " + r, started[r], states(decoder, PROMPTS[r]), 1e-5);
            }
            int[] origins = {0, 1, 2, 2};
            int[] tokens = {3, 1, 4, 5};
            session.advance(tokens, origins);
            float[][] advanced = session.lastHiddenStates();
            assertThat(advanced.length).isEqualTo(4);
            for (int r = 0; r < 4; r++) {
                int[] grown = Arrays.copyOf(PROMPTS[origins[r]], PROMPTS[origins[r]].length + 1);
                grown[grown.length - 1] = tokens[r];
                float[] all = states(decoder, grown);
                assertThat(advanced[r]).hasSize(DIM);
                assertClose("cached " + cached + ", row " + r, advanced[r],
                        Arrays.copyOfRange(all, all.length - DIM, all.length), 1e-5);
            }
            advanced[0][0] = Float.NaN;
            assertThat(session.lastHiddenStates()[0][0]).as("the arrays belong to the caller").isNotNaN();
        }
    }

    @Test
    void advanceBeforeStartAndBadOriginsAreRejected() {
        DecoderSession session = new DecoderSession(decoder(), true, null);
        assertThatThrownBy(() -> session.advance(new int[] {1}, new int[] {0}))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("before start");
        assertThatThrownBy(session::lastHiddenStates).isInstanceOf(IllegalStateException.class);
        session.start(PROMPTS);
        assertThatThrownBy(() -> session.advance(new int[] {1, 2}, new int[] {0, 3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("origins[1] = 3")
                .hasMessageContaining("3");
        assertThatThrownBy(() -> session.advance(new int[] {1}, new int[] {-1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("origins[0] = -1");
        assertThatThrownBy(() -> session.advance(new int[] {1, 2}, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("equal length");
        assertThatThrownBy(() -> session.start(new int[][] {{1}, {}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prompt 1 is empty");
        assertThatThrownBy(() -> new DecoderSession(decoder(), true, null).start(new int[][] {{1, VOCABULARY}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("position 1");
    }
}
