package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Tensor;

/**
 * The causal decoder: gradients of the next-token loss against finite differences, causality,
 * incremental decoding with KV caches against one full pass, tied embeddings and bad input.
 */
class TransformerDecoderTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int VOCABULARY = 7;

    private static Supplier<AttentionMechanism> mechanisms(String name, Map<String, String> options) {
        return () -> REGISTRY.create(AttentionMechanism.class, name, options);
    }

    private static PositionalEncoding positional(String name, Map<String, String> options) {
        return REGISTRY.create(PositionalEncoding.class, name, options);
    }

    private static DecoderConfig config(int layers, boolean tied) {
        return new DecoderConfig(BlockConfig.builder(DIM, HEADS).hidden(16).build(), layers, VOCABULARY, tied, false, 0f);
    }

    private static TransformerDecoder decoder(int layers, boolean tied, String attention, Map<String, String> options,
                                              String positional, Map<String, String> positionalOptions, long seed) {
        TransformerDecoder decoder = new TransformerDecoder(config(layers, tied), mechanisms(attention, options), null,
                positional(positional, positionalOptions), new SplittableRandom(seed));
        decoder.eval();
        return decoder;
    }

    private static TransformerDecoder rotaryFull(int layers, boolean tied, long seed) {
        return decoder(layers, tied, "full", Map.of(), "rotary", Map.of(), seed);
    }

    private static int[][] randomTokens(SplittableRandom rng, int batch, int length) {
        int[][] tokens = new int[batch][length];
        for (int[] row : tokens) {
            for (int i = 0; i < length; i++) {
                row[i] = rng.nextInt(VOCABULARY);
            }
        }
        return tokens;
    }

    /** Scales every parameter up so the gradients are not dominated by the tiny initial embeddings. */
    private static void randomize(TransformerDecoder decoder, SplittableRandom rng) {
        Map<String, ParameterState> state = new LinkedHashMap<>();
        decoder.stateDict().forEach((name, s) -> {
            float[] values = new float[s.values().length];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (0.5 * rng.nextGaussian());
            }
            state.put(name, new ParameterState(s.shape(), values));
        });
        decoder.loadStateDict(state);
    }

    // ------------------------------------------------------------------ attention weights

    @Test
    void attentionWeightsAreEachBlocksCausalWeightsOnItsInput() {
        TransformerDecoder decoder = new TransformerDecoder(config(2, true), () -> new FullAttention(0f), null,
                positional("rotary", Map.of()), new SplittableRandom(3));
        randomize(decoder, new SplittableRandom(4));
        int[][] tokens = randomTokens(new SplittableRandom(5), 2, 5);
        decoder.train();
        List<Tensor> weights = decoder.attentionWeights(tokens, null);
        assertThat(decoder.isTraining()).isTrue();
        decoder.eval();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        Tensor x0 = decoder.embed(tokens);                                  // rotary adds nothing to the embeddings
        Tensor x1 = decoder.block(0).forward(x0, causal);
        assertThat(weights).hasSize(2);
        assertThat(weights.get(0).toFloatArray()).containsExactly(decoder.block(0).attentionWeights(x0, causal)
                .toFloatArray(), offset(1e-6f));
        assertThat(weights.get(1).toFloatArray()).containsExactly(decoder.block(1).attentionWeights(x1, causal)
                .toFloatArray(), offset(1e-6f));
        float[] w = weights.get(1).toFloatArray();
        for (int row = 0; row < 2 * HEADS * 5; row++) {
            int i = row % 5;
            double sum = 0;
            for (int j = 0; j < 5; j++) {
                sum += w[row * 5 + j];
                if (j > i) {
                    assertThat(w[row * 5 + j]).as("a future key").isZero();
                }
            }
            assertThat(sum).isCloseTo(1.0, offset(1e-5));
        }
    }

    // ------------------------------------------------------------------ gradients

    @ParameterizedTest
    @CsvSource({"1, true", "1, false", "2, true"})
    void nextTokenLossGradientsMatchFiniteDifferences(int layers, boolean tied) {
        SplittableRandom rng = new SplittableRandom(1);
        TransformerDecoder decoder = rotaryFull(layers, tied, 2);
        randomize(decoder, rng);
        int[][] tokens = randomTokens(rng, 2, 4);
        int[][] inputs = {Arrays.copyOf(tokens[0], 3), Arrays.copyOf(tokens[1], 3)};
        int[] targets = {tokens[0][1], tokens[0][2], tokens[0][3], tokens[1][1], tokens[1][2], tokens[1][3]};
        List<String> names = List.copyOf(decoder.namedParameters().keySet());
        List<Tensor> parameters = decoder.parameters();

        GradCheck.of("TransformerDecoder " + layers + " layers, tied " + tied,
                in -> Functional.crossEntropy(decoder.forward(inputs, null).reshape(6, VOCABULARY), targets),
                values -> {
                    Map<String, ParameterState> state = new LinkedHashMap<>();
                    for (int i = 0; i < names.size(); i++) {
                        float[] data = new float[values[i].length];
                        for (int e = 0; e < data.length; e++) {
                            data[e] = (float) values[i][e];
                        }
                        state.put(names.get(i), new ParameterState(parameters.get(i).shape(), data));
                    }
                    decoder.loadStateDict(state);
                    try (GradMode.Scope ignored = GradMode.noGrad()) {
                        return new double[] {Functional.crossEntropy(
                                decoder.forward(inputs, null).reshape(6, VOCABULARY), targets).item()};
                    }
                },
                parameters.toArray(new Tensor[0])).step(1e-2).gradTolerance(1e-2).check();
    }

    // ------------------------------------------------------------------ causality and caches

    @Test
    void changingATokenLeavesTheLogitsOfEarlierPositionsUnchanged() {
        TransformerDecoder decoder = rotaryFull(2, true, 3);
        randomize(decoder, new SplittableRandom(4));
        int[][] tokens = randomTokens(new SplittableRandom(5), 1, 6);
        int t = 3;
        float[] before = decoder.forward(tokens, null).toFloatArray();
        tokens[0][t] = (tokens[0][t] + 1) % VOCABULARY;
        float[] after = decoder.forward(tokens, null).toFloatArray();
        for (int i = 0; i < t * VOCABULARY; i++) {
            assertThat(after[i]).as("logit %d", i).isEqualTo(before[i]);
        }
        float change = 0;
        for (int i = t * VOCABULARY; i < before.length; i++) {
            change = Math.max(change, Math.abs(after[i] - before[i]));
        }
        assertThat(change).as("position t and later do see the change").isGreaterThan(1e-4f);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "flash          | rotary  | ",
            "full           | alibi   | ",
            "sliding-window | learned | window=3",
            "linear         | rotary  | ",
            "performer      | rotary  | features=16",
            "hydra          | learned | "})
    void aPromptThenSingleTokensThroughCachesGiveTheStatesOfOnePass(String attention, String positional,
                                                                      String option) {
        Map<String, String> options = option == null ? Map.of()
                : Map.of(option.substring(0, option.indexOf('=')), option.substring(option.indexOf('=') + 1));
        Map<String, String> positionalOptions = positional.equals("learned") ? Map.of("maxLength", "16") : Map.of();
        TransformerDecoder decoder = decoder(2, false, attention, options, positional, positionalOptions, 6);
        randomize(decoder, new SplittableRandom(7));
        assertThat(decoder.cachesKeysAndValues()).isTrue();
        int[][] tokens = randomTokens(new SplittableRandom(8), 2, 7);
        float[] full;
        float[] incremental = new float[2 * 7 * DIM];
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            full = decoder.states(tokens, 0, null, null).toFloatArray();
            KvCache[] caches = decoder.newCaches();
            int prompt = 3;
            int[][] head = {Arrays.copyOf(tokens[0], prompt), Arrays.copyOf(tokens[1], prompt)};
            place(decoder.states(head, 0, caches, null).toFloatArray(), incremental, 0, prompt);
            boolean recurrent = !List.of("flash", "full", "sliding-window").contains(attention);
            assertThat(caches[0].state() != null).as("a recurrent state instead of keys and values").isEqualTo(recurrent);
            long bytes = caches[0].bytes();
            for (int i = prompt; i < 7; i++) {
                assertThat(caches[0].length()).isEqualTo(i);
                place(decoder.states(new int[][] {{tokens[0][i]}, {tokens[1][i]}}, i, caches, null).toFloatArray(),
                        incremental, i, 1);
                assertThat(caches[0].bytes() == bytes).as("cache size unchanged by position %d", i).isEqualTo(recurrent);
            }
        }
        for (int i = 0; i < full.length; i++) {
            assertThat((double) incremental[i]).as("element %d", i)
                    .isCloseTo(full[i], offset(1e-5 * (1 + Math.abs(full[i]))));
        }
    }

    /** Copies states [2, length, DIM] of positions from … from + length into {@code into} [2, 7, DIM]. */
    private static void place(float[] states, float[] into, int from, int length) {
        for (int b = 0; b < 2; b++) {
            System.arraycopy(states, b * length * DIM, into, (b * 7 + from) * DIM, length * DIM);
        }
    }

    // ------------------------------------------------------------------ embeddings

    @Test
    void tiedEmbeddingsComputeTheLogitsWithTheEmbeddingTable() {
        TransformerDecoder tied = rotaryFull(1, true, 9);
        assertThat(tied.namedParameters()).containsKey("tokenEmbedding").doesNotContainKey("output.weight");
        assertThat(tied.noDecayParameterNames()).contains("tokenEmbedding");
        int[][] tokens = randomTokens(new SplittableRandom(10), 2, 4);
        Tensor states = tied.states(tokens, 0, null, null);
        float[] h = states.toFloatArray();
        float[] table = tied.namedParameters().get("tokenEmbedding").toFloatArray();
        float[] logits = tied.forward(tokens, null).toFloatArray();
        assertThat(tied.forward(tokens, null).shape()).containsExactly(2, 4, VOCABULARY);
        for (int r = 0; r < 8; r++) {
            for (int v = 0; v < VOCABULARY; v++) {
                double dot = 0;
                for (int e = 0; e < DIM; e++) {
                    dot += h[r * DIM + e] * table[v * DIM + e];
                }
                assertThat((double) logits[r * VOCABULARY + v]).isCloseTo(dot,
                        offset(1e-5));
            }
        }

        TransformerDecoder untied = rotaryFull(1, false, 9);
        assertThat(untied.namedParameters()).containsKeys("tokenEmbedding", "output.weight", "finalNorm.weight",
                "blocks.0.attention.query.weight");
        assertThat(untied.namedParameters().get("output.weight").shape()).containsExactly(VOCABULARY, DIM);
        assertThat(untied.namedParameters()).doesNotContainKey("output.bias");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void aTokenOutsideTheVocabularyIsNamedByRowAndPosition() {
        TransformerDecoder decoder = rotaryFull(1, true, 11);
        assertThatThrownBy(() -> decoder.forward(new int[][] {{1, 2, 3}, {4, VOCABULARY, 0}}, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token " + VOCABULARY).hasMessageContaining("row 1")
                .hasMessageContaining("position 1").hasMessageContaining("vocabulary of " + VOCABULARY);
        assertThatThrownBy(() -> decoder.forward(new int[][] {{-1}}, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token -1");
    }

    @Test
    void raggedOrEmptyRowsAreRejected() {
        TransformerDecoder decoder = rotaryFull(1, true, 12);
        assertThatThrownBy(() -> decoder.forward(new int[][] {{1, 2, 3}, {4, 5}}, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("length 3").hasMessageContaining("row 1 has 2");
        assertThatThrownBy(() -> decoder.forward(new int[][] {{}}, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-empty");
    }

    @Test
    void aMechanismThatIsNotCausalIsRejected() {
        assertThatThrownBy(() -> new TransformerDecoder(config(1, true), Bidirectional::new, null,
                positional("rotary", Map.of()), new SplittableRandom(13)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'bidirectional-test'").hasMessageContaining("not causal");
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "lsh"})
    void cachesWithAMechanismThatCannotDecodeIncrementallyAreRejected(String attention) {
        Map<String, String> options = attention.equals("lsh") ? Map.of("numBuckets", "2", "chunkLength", "4")
                : Map.of("chunkLength", "2");
        TransformerDecoder decoder = new TransformerDecoder(config(1, true), mechanisms(attention, options), null,
                positional("rotary", Map.of()), new SplittableRandom(14));
        assertThat(decoder.cachesKeysAndValues()).isFalse();
        int[][] tokens = randomTokens(new SplittableRandom(15), 1, 4);
        assertThat(decoder.forward(tokens, null).shape()).containsExactly(1, 4, VOCABULARY);
        assertThatThrownBy(() -> decoder.states(tokens, 0, decoder.newCaches(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("incrementalDecoding")
                .hasMessageContaining("KV caches");
    }

    @Test
    void cachesMustMatchTheBlocksAndTheOffset() {
        TransformerDecoder decoder = rotaryFull(2, true, 16);
        int[][] tokens = randomTokens(new SplittableRandom(17), 1, 3);
        assertThatThrownBy(() -> decoder.states(tokens, 1, decoder.newCaches(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 caches")
                .hasMessageContaining("holding 0");
        assertThatThrownBy(() -> decoder.states(tokens, 0, new KvCache[] {new KvCache()}, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 1");
    }

    /** Full attention that declares itself non-causal, as a bidirectional mechanism would. */
    @ComponentInfo(name = "bidirectional-test", summary = "test only", reference = "none")
    @AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class Bidirectional implements AttentionMechanism {
        private final FullAttention full = new FullAttention(0f);

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return full.forward(query, key, value, context);
        }
    }
}
