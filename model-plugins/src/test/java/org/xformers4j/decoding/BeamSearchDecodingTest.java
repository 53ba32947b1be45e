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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.BeamSearchDecoding.EarlyStopping;

class BeamSearchDecodingTest {

    private static final GenerationConfig UNTIL_EOS = GenerationConfig.builder().endToken(EOS).build();

    private static GenerationConfig untilEos(int numReturnSequences) {
        return GenerationConfig.builder().endToken(EOS).numReturnSequences(numReturnSequences).build();
    }

    private static List<String> texts(List<GeneratedSequence> sequences) {
        return sequences.stream().map(s -> words(s.tokens())).toList();
    }

    /**
     * After "The": {@code <eos>} 0.5, nice 0.3, dog 0.2; after "The nice": {@code <eos>} 0.9, woman
     * 0.1; after "The dog": has 0.5, {@code <eos>} 0.5; then {@code <eos>}. With two beams both
     * hypotheses "{@code <eos>}" and "nice {@code <eos>}" are finished at step 2 while "The dog
     * has" and "The nice woman" still run, and neither can beat them.
     */
    private static TableLanguageModel earlyEndings() {
        Map<String, Map<String, Double>> table = Map.of(
                "The", Map.of("<eos>", 0.5, "nice", 0.3, "dog", 0.2),
                "The nice", Map.of("<eos>", 0.9, "woman", 0.1),
                "The dog", Map.of("has", 0.5, "<eos>", 0.5));
        return new TableLanguageModel(context -> table.getOrDefault(context, Map.of("<eos>", 1.0)));
    }

    @Test
    void twoBeamsFindTheDogHasThatGreedyMisses() {
        TableLanguageModel model = new TableLanguageModel();
        List<GeneratedSequence> out = new BeamSearchDecoding(2).generate(model, new int[][] {ids("The")}, untilEos(2)).get(0);

        assertThat(texts(out)).containsExactly("dog has <eos>", "nice woman <eos>");
        assertThat(Math.exp(out.get(0).logProbability())).isCloseTo(0.36, within(1e-6));
        assertThat(Math.exp(out.get(1).logProbability())).isCloseTo(0.2, within(1e-6));
        // lengthPenalty 1: the sum over the three generated tokens, <eos> included.
        assertThat(out.get(0).score()).isCloseTo(Math.log(0.36) / 3, within(1e-6));
        assertThat(out.get(1).score()).isCloseTo(Math.log(0.2) / 3, within(1e-6));
        // Step 1 expands the prompt's row into "The nice" and "The dog"; step 2 continues "The dog" (row 1)
        // with "has" and "The nice" (row 0) with "woman"; step 3 only finishes them.
        assertThat(model.origins()).containsExactly(new int[] {0, 0}, new int[] {1, 0});
        assertThat(model.queried()).containsExactly(List.of("The"), List.of("The nice", "The dog"),
                List.of("The dog has", "The nice woman"));
    }

    @Test
    void oneSequenceByDefaultIsTheBest() {
        List<GeneratedSequence> out = new BeamSearchDecoding(2).generate(new TableLanguageModel(), new int[][] {ids("The")},
                UNTIL_EOS).get(0);

        assertThat(texts(out)).containsExactly("dog has <eos>");
    }

    /**
     * numBeams bounds the beams; nothing is sized by it before the beams exist, and beyond 1024 (each
     * beam is a row with its own cache) it is refused rather than left to exhaust memory.
     */
    @Test
    void theLargestNumberOfBeamsCostsOnlyTheBeamsThatExistAndMoreIsRefused() {
        List<GeneratedSequence> out = new BeamSearchDecoding(1024).generate(new TableLanguageModel(),
                new int[][] {ids("The")}, UNTIL_EOS).get(0);

        assertThat(texts(out)).containsExactly("dog has <eos>");
        assertThatThrownBy(() -> new BeamSearchDecoding(1 << 30)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("numBeams = 1073741824 is outside the valid range [1, 1024]");
    }

    @Test
    void oneBeamIsGreedyDecoding() {
        int[][] prompts = {ids("The"), ids("The dog"), ids("The nice"), ids("The car"), ids("dog")};
        List<GenerationConfig> configs = List.of(UNTIL_EOS, GenerationConfig.builder().maxNewTokens(2).endToken(EOS).build(),
                GenerationConfig.builder().maxNewTokens(5).build());
        for (GenerationConfig config : configs) {
            List<List<GeneratedSequence>> greedy = new GreedyDecoding().generate(new TableLanguageModel(), prompts, config);
            List<List<GeneratedSequence>> beam = new BeamSearchDecoding(1).generate(new TableLanguageModel(), prompts, config);
            for (int p = 0; p < prompts.length; p++) {
                GeneratedSequence g = greedy.get(p).get(0);
                assertThat(beam.get(p)).hasSize(1);
                assertThat(beam.get(p).get(0).tokens()).as("prompt %s", words(prompts[p])).isEqualTo(g.tokens());
                assertThat(beam.get(p).get(0).logProbability()).isEqualTo(g.logProbability());
            }
        }
    }

    @Test
    void batchingGivesTheSameSequencesAsOnePromptAtATime() {
        int[][] prompts = {ids("The"), ids("The dog"), ids("The nice"), ids("dog")};
        BeamSearchDecoding beam = new BeamSearchDecoding(3);
        List<List<GeneratedSequence>> batched = beam.generate(new TableLanguageModel(), prompts, untilEos(3));

        for (int p = 0; p < prompts.length; p++) {
            List<GeneratedSequence> alone = beam.generate(new TableLanguageModel(), new int[][] {prompts[p]}, untilEos(3)).get(0);
            assertThat(batched.get(p)).as("prompt %s", words(prompts[p])).isEqualTo(alone);
        }
    }

    @Test
    void moreSequencesThanBeamsAreRejected() {
        assertThatThrownBy(() -> new BeamSearchDecoding(2).generate(new TableLanguageModel(), new int[][] {ids("The")},
                untilEos(3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("beam keeps numBeams = 2 hypotheses per prompt; numReturnSequences 3 is more");
    }

    @Test
    void lengthPenaltyReordersHypothesesOfDifferentLengths() {
        // Five beams finish "car <eos>" (0.1, two tokens) at step 2 and the four three-token sequences at step 3;
        // "dog runs <eos>" (0.02) is the sixth and dropped. Scores are log p / length^lengthPenalty.
        List<GeneratedSequence> favourLong = new BeamSearchDecoding(5, 1.0, EarlyStopping.FALSE, 0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(5)).get(0);
        assertThat(texts(favourLong))
                .containsExactly("dog has <eos>", "nice woman <eos>", "nice house <eos>", "nice guy <eos>", "car <eos>");
        assertThat(favourLong.get(4).score()).isCloseTo(Math.log(0.1) / 2, within(1e-6));

        List<GeneratedSequence> favourShort = new BeamSearchDecoding(5, -1.0, EarlyStopping.FALSE, 0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos(5)).get(0);
        // car: 2 ln 0.1 = -4.61 beats nice woman: 3 ln 0.2 = -4.83.
        assertThat(texts(favourShort))
                .containsExactly("dog has <eos>", "car <eos>", "nice woman <eos>", "nice house <eos>", "nice guy <eos>");
        assertThat(favourShort.get(1).score()).isCloseTo(Math.log(0.1) * 2, within(1e-6));
        assertThat(favourShort.get(2).score()).isCloseTo(Math.log(0.2) * 3, within(1e-6));
        assertThat(favourShort.get(2).logProbability()).isCloseTo(Math.log(0.2), within(1e-6));
    }

    @Test
    void anEndingRankedBelowTheBeamCountIsNotKept() {
        Map<String, Map<String, Double>> table = Map.of(
                "The", Map.of("nice", 0.5, "dog", 0.5),
                "The nice", Map.of("woman", 0.5, "<eos>", 0.5),
                "The dog", Map.of("<eos>", 0.6, "runs", 0.4));
        List<GeneratedSequence> out = new BeamSearchDecoding(2, 0.0, EarlyStopping.FALSE, 0).generate(
                new TableLanguageModel(c -> table.getOrDefault(c, Map.of("<eos>", 1.0))), new int[][] {ids("The")},
                untilEos(2)).get(0);

        // Step 2 ranks "dog <eos>" (0.3), "nice woman" (0.25), "nice <eos>" (0.25), "dog runs" (0.2): the
        // third ends but ranks below two beams, so (as in Hugging Face) it is dropped, and "nice woman <eos>"
        // takes the second place it would otherwise have kept.
        assertThat(texts(out)).containsExactly("dog <eos>", "nice woman <eos>");
    }

    @Test
    void earlyStoppingTrueStopsOnceAsManyHypothesesAsBeamsAreFinished() {
        Map<EarlyStopping, Integer> advances = new HashMap<>();
        for (EarlyStopping early : EarlyStopping.values()) {
            TableLanguageModel model = earlyEndings();
            List<GeneratedSequence> out = new BeamSearchDecoding(2, 1.0, early, 0)
                    .generate(model, new int[][] {ids("The")}, untilEos(2)).get(0);
            assertThat(texts(out)).as("%s", early).containsExactly("nice <eos>", "<eos>");
            assertThat(out.get(0).score()).isCloseTo(Math.log(0.3 * 0.9) / 2, within(1e-6));
            advances.put(early, model.origins().size());
        }
        // TRUE stops at step 2; FALSE and NEVER run step 3, where "The dog has" (0.1 / 3) and "The nice woman"
        // (0.03 / 3) cannot beat the worst hypothesis, <eos> at ln 0.5.
        assertThat(advances).containsExactlyInAnyOrderEntriesOf(
                Map.of(EarlyStopping.TRUE, 1, EarlyStopping.FALSE, 2, EarlyStopping.NEVER, 2));
    }

    @Test
    void earlyStoppingNeverKeepsSearchingForLongerBetterHypotheses() {
        Map<String, Map<String, Double>> table = Map.of("The", Map.of("<eos>", 0.6, "dog", 0.4), "The dog", Map.of("has", 1.0));
        int[][] prompt = {ids("The")};

        // FALSE: "<eos>" (ln 0.6 / 1 = -0.51) is finished and no running beam can beat it at length 1.
        GeneratedSequence heuristic = new BeamSearchDecoding(1, 1.0, EarlyStopping.FALSE, 0).generate(
                new TableLanguageModel(c -> table.getOrDefault(c, Map.of("<eos>", 1.0))), prompt, UNTIL_EOS).get(0).get(0);
        assertThat(words(heuristic.tokens())).isEqualTo("<eos>");

        // NEVER: with lengthPenalty > 0 a beam could still beat it at maxNewTokens; "dog has <eos>" scores ln 0.4 / 3 = -0.31.
        GeneratedSequence canonical = new BeamSearchDecoding(1, 1.0, EarlyStopping.NEVER, 0).generate(
                new TableLanguageModel(c -> table.getOrDefault(c, Map.of("<eos>", 1.0))), prompt, UNTIL_EOS).get(0).get(0);
        assertThat(words(canonical.tokens())).isEqualTo("dog has <eos>");
        assertThat(canonical.score()).isCloseTo(Math.log(0.4) / 3, within(1e-6));
    }

    @Test
    void ngramBlockingNeverRepeatsAnNgram() {
        // Each word is followed by its successor in the cycle The -> dog -> The with 0.5, any other word with 0.05.
        List<String> vocabulary = VOCABULARY.subList(0, EOS);
        Function<String, Map<String, Double>> cycle = context -> {
            String last = context.substring(context.lastIndexOf(' ') + 1);
            String successor = last.equals("The") ? "dog" : "The";
            Map<String, Double> next = new HashMap<>();
            vocabulary.forEach(w -> next.put(w, w.equals(successor) ? 0.5 : 0.5 / (vocabulary.size() - 1)));
            return next;
        };
        GenerationConfig eight = GenerationConfig.builder().maxNewTokens(8).numReturnSequences(3).build();

        List<GeneratedSequence> looping = new BeamSearchDecoding(3).generate(new TableLanguageModel(cycle),
                new int[][] {ids("The")}, eight).get(0);
        assertThat(words(looping.get(0).tokens())).isEqualTo("dog The dog The dog The dog The");

        for (int size = 1; size <= 3; size++) {
            List<GeneratedSequence> blocked = new BeamSearchDecoding(3, 1.0, EarlyStopping.FALSE, size)
                    .generate(new TableLanguageModel(cycle), new int[][] {ids("The")}, eight).get(0);
            assertThat(blocked).hasSize(3);
            for (GeneratedSequence s : blocked) {
                int[] sequence = concat(ids("The"), s.tokens());
                assertThat(s.tokens()).hasSize(8);
                Set<List<Integer>> seen = new HashSet<>();
                for (int i = 0; i + size <= sequence.length; i++) {
                    List<Integer> ngram = Arrays.stream(sequence, i, i + size).boxed().toList();
                    assertThat(seen.add(ngram)).as("%d-gram %s repeated in %s", size, ngram, words(sequence)).isTrue();
                }
            }
        }
    }

    @Test
    void processorsSeeEachBeamAndAStoppingCriterionFinishesAHypothesis() {
        List<String> seen = new ArrayList<>();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).numReturnSequences(2)
                .logitsProcessors(List.of((tokens, generated, logits) -> seen.add(words(tokens) + " / " + generated)))
                .stoppingCriteria(List.of((tokens, generated) -> tokens[tokens.length - 1] == id("woman")))
                .build();
        List<GeneratedSequence> out = new BeamSearchDecoding(2, 0.0, EarlyStopping.FALSE, 0)
                .generate(new TableLanguageModel(), new int[][] {ids("The")}, config).get(0);

        // "The nice woman" finishes without <eos> at step 2 and "nice house" takes its beam; at step 3
        // "The dog has <eos>" (ln 0.36) joins it and "The nice house <eos>" (ln 0.15) is worse than both.
        assertThat(texts(out)).containsExactly("dog has <eos>", "nice woman");
        assertThat(out.get(1).score()).isCloseTo(Math.log(0.2), within(1e-6));
        assertThat(seen).containsExactly("The / 0", "The nice / 1", "The dog / 1", "The dog has / 2", "The nice house / 2");
    }

    @Test
    void theListenerIsNotCalledSinceNoBeamTokenIsFinalBeforeTheEnd() {
        List<Integer> events = new ArrayList<>();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).listener((prompt, token) -> events.add(token)).build();
        new BeamSearchDecoding(2).generate(new TableLanguageModel(), new int[][] {ids("The")}, config);

        assertThat(events).isEmpty();
    }

    @Test
    void aPromptWhoseContinuationsAreAllBannedIsAnError() {
        GenerationConfig banAll = GenerationConfig.builder()
                .logitsProcessors(List.of((tokens, generated, logits) -> Arrays.fill(logits, Float.NEGATIVE_INFINITY))).build();
        assertThatThrownBy(() -> new BeamSearchDecoding(2).generate(new TableLanguageModel(), new int[][] {ids("The")}, banAll))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("prompt 0 has no hypothesis: the logits processors or n-gram blocking banned every continuation");
        GenerationConfig nan = GenerationConfig.builder()
                .logitsProcessors(List.of((tokens, generated, logits) -> logits[3] = Float.NaN)).build();
        assertThatThrownBy(() -> new BeamSearchDecoding(2).generate(new TableLanguageModel(), new int[][] {ids("The")}, nan))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("logits of prompt 0 for new token 1 are NaN at token 3; they must be finite or -infinity");
    }

    @Test
    void theProviderDescribesAndConfiguresBeamSearch() {
        ComponentDescriptor d = new BeamSearchDecodingProvider().descriptor();

        assertThat(d.name()).isEqualTo("beam");
        assertThat(d.kind()).isEqualTo(ComponentKind.DECODING);
        assertThat(d.reference()).contains("Graves, 2012").contains("Wu et al., 2016");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name)
                .containsExactly("numBeams", "lengthPenalty", "earlyStopping", "noRepeatNgramSize");
        assertThat(d.hyperparameter("earlyStopping").orElseThrow().choices()).containsExactly("TRUE", "FALSE", "NEVER");
        assertThat(d.capabilities(DecodingCapabilities.class).multipleHypotheses()).isTrue();
        assertThat(d.capabilityMap()).containsExactly(Map.entry("greedyWhen", List.of("numBeams=1")),
                Map.entry("multipleHypotheses", true), Map.entry("stochastic", false));

        BeamSearchDecoding one = new BeamSearchDecodingProvider().create(Map.of("numBeams", "1", "earlyStopping", "NEVER"));
        GeneratedSequence s = one.generate(earlyEndings(), new int[][] {ids("The")}, UNTIL_EOS).get(0).get(0);
        // NEVER with one beam goes on past "<eos>" (ln 0.5 = -0.69) and finds "nice <eos>" (ln 0.27 / 2 = -0.65).
        assertThat(words(s.tokens())).isEqualTo("nice <eos>");

        assertThatThrownBy(() -> new BeamSearchDecodingProvider().create(Map.of("numBeams", "0")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("beam.numBeams = 0 is outside the valid range");
        assertThatThrownBy(() -> new BeamSearchDecodingProvider().create(Map.of("earlyStopping", "SOMETIMES")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("SOMETIMES");
        assertThatThrownBy(() -> new BeamSearchDecoding(2, 1.0, EarlyStopping.FALSE, -1))
                .isInstanceOf(PropertyException.class).hasMessageContaining("beam.noRepeatNgramSize = -1");
    }

    @Test
    void serviceLoaderFindsTheProvider() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::get))
                .anySatisfy(p -> {
                    assertThat(p).isInstanceOf(BeamSearchDecodingProvider.class);
                    assertThat(p.descriptor().name()).isEqualTo("beam");
                });
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
