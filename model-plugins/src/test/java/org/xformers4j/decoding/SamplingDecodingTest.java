package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.VOCABULARY;
import static org.xformers4j.decoding.TableLanguageModel.id;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.tensor.Tensor;

class SamplingDecodingTest {

    private static final SamplingDecodingProvider PROVIDER = new SamplingDecodingProvider();

    /** A next-word distribution after "The" over eight words; every other sequence ends. */
    private static final Map<String, Double> EIGHT = orderedMap(
            "nice", 0.3, "dog", 0.2, "car", 0.15, "woman", 0.12, "house", 0.1, "guy", 0.07, "has", 0.04, "runs", 0.02);

    private static final int DRAWS = 20_000;

    private static SamplingDecoding sample(String... options) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            map.put(options[i], options[i + 1]);
        }
        return PROVIDER.create(map);
    }

    private static Map<String, Double> orderedMap(Object... entries) {
        Map<String, Double> map = new LinkedHashMap<>();
        for (int i = 0; i < entries.length; i += 2) {
            map.put((String) entries[i], (Double) entries[i + 1]);
        }
        return map;
    }

    private static List<String> generateWords(SamplingDecoding strategy, long seed, int[]... prompts) {
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).seed(seed).build();
        return strategy.generate(new TableLanguageModel(), prompts, config).stream()
                .map(sequences -> words(sequences.get(0).tokens())).toList();
    }

    @Test
    void manySamplesAreDrawnInSessionsOfBoundedRowsWithoutChangingThem() {
        int[][] prompts = {ids("The"), ids("The dog")};
        int[] widest = new int[1];
        List<int[]> heard = new ArrayList<>();
        TableLanguageModel table = new TableLanguageModel();
        DecodingModel counting = new DecodingModel() {
            @Override
            public int vocabularySize() {
                return table.vocabularySize();
            }

            @Override
            public Tensor start(int[][] rows) {
                widest[0] = Math.max(widest[0], rows.length);
                return table.start(rows);
            }

            @Override
            public Tensor advance(int[] tokens, int[] origins) {
                return table.advance(tokens, origins);
            }
        };
        GenerationConfig many = GenerationConfig.builder().endToken(EOS).seed(3).numReturnSequences(100)
                .listener((row, token) -> heard.add(new int[] {row, token})).build();
        List<List<GeneratedSequence>> drawn = sample().generate(counting, prompts, many);

        assertThat(widest[0]).isEqualTo(SamplingDecoding.ROWS_AT_ONCE);
        assertThat(drawn).allSatisfy(samples -> assertThat(samples).hasSize(100));
        assertThat(heard).extracting(event -> event[0]).contains(0, 199).allMatch(row -> row >= 0 && row < 200);
        // rows take their generators from the seed in row order, so the first prompt's 100 samples
        // contain the 40 a smaller call draws for it, whatever sessions the rows were grouped in
        List<GeneratedSequence> fewer = sample().generate(new TableLanguageModel(), new int[][] {prompts[0]},
                GenerationConfig.builder().endToken(EOS).seed(3).numReturnSequences(40).build()).get(0);
        List<String> all = drawn.get(0).stream().map(g -> words(g.tokens())).toList();
        Map<String, Long> available = all.stream().collect(Collectors.groupingBy(w -> w, Collectors.counting()));
        for (GeneratedSequence sequence : fewer) {
            assertThat(available.merge(words(sequence.tokens()), -1L, Long::sum)).isNotNegative();
        }
    }

    @Test
    void numReturnSequencesBeyondTheLimitIsRefusedBeforeAnythingIsAllocated() {
        assertThatThrownBy(() -> GenerationConfig.builder().numReturnSequences(2_000_000_000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2000000000")
                .hasMessageContaining(String.valueOf(GenerationConfig.MAX_RETURN_SEQUENCES));
        int[][] prompts = new int[3][];
        Arrays.fill(prompts, ids("The"));
        GenerationConfig most = GenerationConfig.builder().endToken(EOS).numReturnSequences(
                GenerationConfig.MAX_RETURN_SEQUENCES).build();
        assertThatThrownBy(() -> sample().generate(new TableLanguageModel(), prompts, most))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 prompts");
    }

    @Test
    void topKOneTopPNearZeroAndTemperatureNearZeroEachEqualGreedy() {
        int[][] prompts = {ids("The"), ids("The dog"), ids("The nice")};
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).seed(7).build();
        List<List<GeneratedSequence>> greedy = new GreedyDecoding().generate(new TableLanguageModel(), prompts, config);
        assertThat(words(greedy.get(0).get(0).tokens())).isEqualTo("nice woman <eos>");

        for (SamplingDecoding nearGreedy : List.of(sample("topK", "1"), sample("topP", "1e-6"), sample("temperature", "1e-4"))) {
            for (long seed = 0; seed < 20; seed++) {
                GenerationConfig seeded = GenerationConfig.builder().endToken(EOS).seed(seed).build();
                // the log-probability is the model's, before temperature and filters: equal to greedy's
                assertThat(nearGreedy.generate(new TableLanguageModel(), prompts, seeded)).isEqualTo(greedy);
            }
        }
    }

    @Test
    void sameSeedSameSequencesAndDifferentSeedsDiffer() {
        SamplingDecoding pure = sample();
        int[][] prompts = {ids("The"), ids("The"), ids("The")};

        assertThat(generateWords(pure, 42, prompts)).isEqualTo(generateWords(pure, 42, prompts));
        List<List<String>> bySeed = new ArrayList<>();
        for (long seed = 0; seed < 10; seed++) {
            bySeed.add(generateWords(pure, seed, prompts));
        }
        assertThat(bySeed).as("ten seeds give more than one outcome").doesNotHaveDuplicates();
    }

    @Test
    void aRowDrawsFromItsOwnStreamWhateverTheOtherRowsDo() {
        SamplingDecoding pure = sample();
        for (long seed = 0; seed < 10; seed++) {
            List<String> batched = generateWords(pure, seed, ids("The"), ids("The"));
            // the second row keeps its draws when the first row ends at once
            assertThat(generateWords(pure, seed, ids("The car"), ids("The")).get(1)).isEqualTo(batched.get(1));
            assertThat(generateWords(pure, seed, ids("The")).get(0)).isEqualTo(batched.get(0));
        }
    }

    @Test
    void severalSamplesPerPromptAreIndependentRowsSortedByLogProbability() {
        List<String> events = new ArrayList<>();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).seed(3).numReturnSequences(6)
                .listener((row, token) -> events.add(row + ":" + VOCABULARY.get(token))).build();
        List<List<GeneratedSequence>> out = sample().generate(new TableLanguageModel(), new int[][] {ids("The"), ids("The dog")}, config);

        assertThat(out).hasSize(2).allSatisfy(samples -> {
            assertThat(samples).hasSize(6);
            assertThat(samples).extracting(GeneratedSequence::logProbability).isSortedAccordingTo((a, b) -> Double.compare(b, a));
        });
        assertThat(out.get(0)).extracting(s -> words(s.tokens()).split(" ")[0]).allMatch(w -> List.of("nice", "dog", "car").contains(w));
        assertThat(out.get(1)).extracting(s -> words(s.tokens()).split(" ")[0]).allMatch(w -> List.of("has", "runs", "and").contains(w));
        // rows 0-5 are the samples of prompt 0 and rows 6-11 those of prompt 1, all drawn in the first step
        assertThat(events.subList(0, 12)).extracting(e -> Integer.parseInt(e.split(":")[0]))
                .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        for (GeneratedSequence s : out.get(0)) {
            double p = 1;
            String context = "The";
            for (String word : words(s.tokens()).split(" ")) {
                p *= word.equals("<eos>") ? 1.0 : probability(context, word);
                context = context + " " + word;
            }
            assertThat(Math.exp(s.logProbability())).isCloseTo(p, within(1e-6));
            assertThat(s.score()).isEqualTo(s.logProbability());
        }
    }

    private static double probability(String context, String word) {
        return switch (context + " " + word) {
            case "The nice" -> 0.5;
            case "The dog" -> 0.4;
            case "The car" -> 0.1;
            case "The nice woman" -> 0.4;
            case "The nice house", "The nice guy" -> 0.3;
            case "The dog has" -> 0.9;
            default -> 0.05;
        };
    }

    /** Counts of the first sampled word over DRAWS seeded rows from EIGHT. */
    private static Map<String, Integer> firstWordCounts(SamplingDecoding strategy) {
        TableLanguageModel model = new TableLanguageModel(context -> context.equals("The") ? EIGHT : Map.of("<eos>", 1.0));
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(1).seed(2024).numReturnSequences(DRAWS).build();
        List<GeneratedSequence> samples = strategy.generate(model, new int[][] {ids("The")}, config).get(0);
        assertThat(samples).hasSize(DRAWS);
        return samples.stream().collect(Collectors.toMap(s -> words(s.tokens()), s -> 1, Integer::sum));
    }

    /**
     * Asserts that only the words of {@code expected} were drawn and that Pearson's chi-square
     * statistic of their counts against it stays below {@code critical}, the 0.99 quantile of the
     * chi-square distribution with (kept words - 1) degrees of freedom.
     */
    private static void assertMatches(Map<String, Integer> counts, Map<String, Double> expected, double critical) {
        assertThat(expected.keySet()).containsAll(counts.keySet());
        double total = expected.values().stream().mapToDouble(Double::doubleValue).sum();
        double chiSquare = 0;
        for (Map.Entry<String, Double> e : expected.entrySet()) {
            double wanted = DRAWS * e.getValue() / total;
            double diff = counts.getOrDefault(e.getKey(), 0) - wanted;
            chiSquare += diff * diff / wanted;
        }
        assertThat(chiSquare).as("chi-square of %s against %s", counts, expected).isLessThan(critical);
    }

    @Test
    void topKDrawsFromTheKMostProbableRenormalised() {
        assertMatches(firstWordCounts(sample("topK", "6")),
                orderedMap("nice", 0.3, "dog", 0.2, "car", 0.15, "woman", 0.12, "house", 0.1, "guy", 0.07), 15.086);
    }

    @Test
    void topPDrawsFromTheNucleus() {
        // masses before each word: 0, .3, .5, .65, .77 < .8; .87 reached with house
        assertMatches(firstWordCounts(sample("topP", "0.8")),
                orderedMap("nice", 0.3, "dog", 0.2, "car", 0.15, "woman", 0.12, "house", 0.1), 13.277);
    }

    @Test
    void topPActsOnTheDistributionTopKLeft() {
        // after top-6 the masses are renormalised by .94: before woman .65/.94 = .69 < .8, before house .82
        assertMatches(firstWordCounts(sample("topK", "6", "topP", "0.8")),
                orderedMap("nice", 0.3, "dog", 0.2, "car", 0.15, "woman", 0.12), 11.345);
    }

    @Test
    void temperatureFlattensTheDistribution() {
        Map<String, Double> flattened = new LinkedHashMap<>();
        EIGHT.forEach((word, p) -> flattened.put(word, Math.sqrt(p)));
        assertMatches(firstWordCounts(sample("temperature", "2")), flattened, 18.475);
    }

    @Test
    void minPKeepsTheWordsAtLeastThatFractionOfTheLargest() {
        // .3 * .3 = .09: guy (.07) and below are removed
        assertMatches(firstWordCounts(sample("minP", "0.3")),
                orderedMap("nice", 0.3, "dog", 0.2, "car", 0.15, "woman", 0.12, "house", 0.1), 13.277);
    }

    @Test
    void typicalPKeepsTheWordsClosestToTheEntropy() {
        // H = 1.8455 nats; |-ln p - H|: car .05, dog .24, woman .27, house .46, nice .64, ...
        // masses before each: 0, .15, .35, .47 < .5, then .57: the most probable word is dropped
        assertMatches(firstWordCounts(sample("typicalP", "0.5")),
                orderedMap("car", 0.15, "dog", 0.2, "woman", 0.12, "house", 0.1), 11.345);
    }

    @Test
    void pureSamplingMatchesTheModelDistribution() {
        assertMatches(firstWordCounts(sample()), EIGHT, 18.475);
    }

    @Test
    void invalidHyperparametersAreRejectedByFieldAndValue() {
        assertThatThrownBy(() -> sample("temperature", "0")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.temperature = 0.0 is outside the valid range (0, +inf)");
        assertThatThrownBy(() -> sample("temperature", "Infinity")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.temperature = Infinity must be finite");
        assertThatThrownBy(() -> sample("topK", "-1")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.topK = -1 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> sample("topP", "0")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.topP = 0.0 is outside the valid range (0, 1]");
        assertThatThrownBy(() -> sample("topP", "1.5")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.topP = 1.5");
        assertThatThrownBy(() -> sample("typicalP", "0")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.typicalP = 0.0 is outside the valid range (0, 1]");
        assertThatThrownBy(() -> sample("minP", "1")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.minP = 1.0 is outside the valid range [0, 1)");
        assertThatThrownBy(() -> new SamplingDecoding(1, 0, 1, 1, -0.5)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("sample.minP = -0.5");
        assertThatThrownBy(() -> sample("beams", "2")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'beams' for sample")
                .hasMessageContaining("valid options: temperature, topK, topP, typicalP, minP");
    }

    @Test
    void invalidPromptsAreRejectedBeforeTheModelIsAsked() {
        TableLanguageModel model = new TableLanguageModel();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).build();
        assertThatThrownBy(() -> sample().generate(model, new int[][] {ids("The"), {}}, config))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("prompt 1 is empty");
        assertThatThrownBy(() -> sample().generate(model, new int[][] {{12}}, config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompt 0 has token 12 at position 0, outside the vocabulary of 11 tokens");
        assertThat(model.queried()).isEmpty();
    }

    @Test
    void describesSamplingDecoding() {
        ComponentDescriptor d = PROVIDER.descriptor();

        assertThat(d.name()).isEqualTo("sample");
        assertThat(d.kind()).isEqualTo(ComponentKind.DECODING);
        assertThat(d.implementation()).isEqualTo(SamplingDecoding.class.getName());
        assertThat(d.reference()).contains("Holtzman").contains("2020");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name)
                .containsExactly("temperature", "topK", "topP", "typicalP", "minP");
        assertThat(d.hyperparameter("topP").orElseThrow().defaultValue()).isEqualTo("1.0");
        assertThat(d.capabilities(DecodingCapabilities.class).stochastic()).isTrue();
        assertThat(d.capabilityMap()).containsExactly(Map.entry("greedyWhen", List.of("topK=1")),
                Map.entry("multipleHypotheses", false), Map.entry("stochastic", true));
        assertThat(PROVIDER.create(Map.of("temperature", "0.7", "topK", "40"))).isInstanceOf(SamplingDecoding.class);
    }

    @Test
    void serviceLoaderFindsTheProvider() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::get))
                .anySatisfy(p -> {
                    assertThat(p).isInstanceOf(SamplingDecodingProvider.class);
                    assertThat(p.descriptor().name()).isEqualTo("sample");
                });
    }
}
