package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.component.conformance.DecodingConformance;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.tensor.Tensor;

class ContrastiveSearchDecodingTest {

    private static final ContrastiveSearchDecodingProvider PROVIDER = new ContrastiveSearchDecodingProvider();
    private static final int[][] PROMPTS = {ids("The"), ids("The dog")};
    private final GenerationConfig untilEos = GenerationConfig.builder().endToken(EOS).build();

    /**
     * The default table (after "The": nice 0.5, dog 0.4, car 0.1; after "The nice": woman 0.4, ...;
     * after "The dog": has 0.9, runs 0.05, and 0.05) with two-dimensional hidden states: e2 = (0, 1)
     * for a sequence ending in "dog", e1 = (1, 0) for every other. So "The nice" repeats the state
     * of "The" exactly (cosine 1) while "The dog" is orthogonal to it (cosine 0).
     */
    private static TableLanguageModel dogIsNew() {
        return new TableLanguageModel(TableLanguageModel::nextWords, 2,
                context -> context.endsWith("dog") ? new float[] {0, 1} : new float[] {1, 0});
    }

    private static List<String> generated(List<List<GeneratedSequence>> output) {
        return output.stream().map(s -> {
            assertThat(s).hasSize(1);
            return words(s.get(0).tokens());
        }).toList();
    }

    @Test
    void thePenaltyPicksALessProbableTokenWhoseHiddenStateIsNew() {
        // After "The" (state e1), α = 0.6, k = 4 (the candidates are the three tokens of non-zero probability):
        //   nice: (1 - 0.6) * 0.5 - 0.6 * cos(e1, e1) = 0.2  - 0.6 = -0.40
        //   dog:  (1 - 0.6) * 0.4 - 0.6 * cos(e2, e1) = 0.16 - 0   =  0.16  <- chosen
        //   car:  (1 - 0.6) * 0.1 - 0.6 * cos(e1, e1) = 0.04 - 0.6 = -0.56
        // After "The dog" (states e1, e2), every candidate has state e1, so penalty 1 each:
        //   has: 0.4 * 0.9 - 0.6 = -0.24 <- chosen;  runs, and: 0.4 * 0.05 - 0.6 = -0.58
        // then "<eos>", the only token of non-zero probability.
        GeneratedSequence s = new ContrastiveSearchDecoding(0.6, 4)
                .generate(dogIsNew(), new int[][] {ids("The")}, untilEos).get(0).get(0);

        assertThat(words(s.tokens())).isEqualTo("dog has <eos>");
        assertThat(s.logProbability()).isCloseTo(Math.log(0.4 * 0.9), within(1e-6));
        assertThat(s.score()).isEqualTo(s.logProbability());
    }

    @Test
    void withoutPenaltyOrWithOneCandidateItIsGreedyDecoding() {
        List<List<GeneratedSequence>> greedy = new GreedyDecoding().generate(dogIsNew(), PROMPTS, untilEos);
        assertThat(generated(greedy)).containsExactly("nice woman <eos>", "has <eos>");

        for (ContrastiveSearchDecoding degenerate : List.of(new ContrastiveSearchDecoding(0, 4),
                new ContrastiveSearchDecoding(0.6, 1))) {
            List<List<GeneratedSequence>> output = degenerate.generate(dogIsNew(), PROMPTS, untilEos);
            assertThat(generated(output)).isEqualTo(generated(greedy));
            for (int p = 0; p < PROMPTS.length; p++) {
                assertThat(output.get(p).get(0).logProbability())
                        .isCloseTo(greedy.get(p).get(0).logProbability(), within(1e-12));
            }
        }
    }

    @Test
    void callsTheModelOncePerStepWithTheCandidatesOfEveryActiveRowAndDropsFinishedRows() {
        TableLanguageModel model = dogIsNew();
        List<String> streamed = new ArrayList<>();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .listener((prompt, token) -> streamed.add(prompt + ":" + words(new int[] {token}))).build();

        List<List<GeneratedSequence>> output = new ContrastiveSearchDecoding(0.6, 2).generate(model, PROMPTS, config);

        // Step 1: two candidates per row; "The" picks dog (row 1 of the call), "The dog" picks has (row 2).
        // Step 2: their candidates continue rows 1 and 2; "The dog has" has one candidate, <eos>, and finishes.
        // Step 3: only the first prompt's row is left, at row 0 of the previous call.
        assertThat(model.queried()).containsExactly(
                List.of("The", "The dog"),
                List.of("The nice", "The dog", "The dog has", "The dog runs"),
                List.of("The dog has", "The dog runs", "The dog has <eos>"),
                List.of("The dog has <eos>"));
        assertThat(model.origins()).containsExactly(new int[] {0, 0, 1, 1}, new int[] {1, 1, 2}, new int[] {0});
        assertThat(generated(output)).containsExactly("dog has <eos>", "has <eos>");
        assertThat(streamed).containsExactly("0:dog", "1:has", "0:has", "1:<eos>", "0:<eos>");
    }

    @Test
    void stopsAtMaxNewTokensAfterOneCallPerToken() {
        TableLanguageModel model = dogIsNew();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).maxNewTokens(1).build();

        List<List<GeneratedSequence>> output = new ContrastiveSearchDecoding(0.6, 4).generate(model, PROMPTS, config);

        assertThat(generated(output)).containsExactly("dog", "has");
        assertThat(model.origins()).containsExactly(new int[] {0, 0, 0, 1, 1, 1});
    }

    @Test
    void aBannedTokenIsNeverACandidate() {
        TableLanguageModel model = dogIsNew();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .logitsProcessors(List.of((tokens, generated, logits) -> logits[TableLanguageModel.id("dog")] =
                        Float.NEGATIVE_INFINITY)).build();

        GeneratedSequence s = new ContrastiveSearchDecoding(0.6, 4)
                .generate(model, new int[][] {ids("The")}, config).get(0).get(0);

        // Without dog, nice (5/6) and car (1/6) both repeat the state of "The": nice is more probable.
        assertThat(words(s.tokens())).isEqualTo("nice woman <eos>");
        assertThat(s.logProbability()).isCloseTo(Math.log(5.0 / 6 * 0.4), within(1e-6));
        assertThat(model.queried().get(1)).containsExactly("The nice", "The car");
    }

    @Test
    void invalidHyperparametersAreRejectedByFieldAndValue() {
        assertThatThrownBy(() -> PROVIDER.create(Map.of("penaltyAlpha", "1.5"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("contrastive.penaltyAlpha = 1.5 is outside the valid range [0, 1]");
        assertThatThrownBy(() -> PROVIDER.create(Map.of("topK", "0"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("contrastive.topK = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> new ContrastiveSearchDecoding(-0.1, 4)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("contrastive.penaltyAlpha = -0.1");
        assertThat(PROVIDER.create(Map.of("penaltyAlpha", "0.5", "topK", "2"))).isInstanceOf(ContrastiveSearchDecoding.class);
    }

    @Test
    void aModelWithoutHiddenStatesIsRejectedBeforeItIsCalled() {
        List<String> calls = new ArrayList<>();
        DecodingModel plain = new DecodingModel() {
            @Override
            public int vocabularySize() {
                return TableLanguageModel.VOCABULARY.size();
            }

            @Override
            public Tensor start(int[][] prompts) {
                calls.add("start");
                return new TableLanguageModel().start(prompts);
            }

            @Override
            public Tensor advance(int[] tokens, int[] origins) {
                calls.add("advance");
                throw new AssertionError("not reached");
            }
        };

        assertThatThrownBy(() -> new ContrastiveSearchDecoding(0.6, 4).generate(plain, PROMPTS, untilEos))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("contrastive search needs the model's hidden states")
                .hasMessageContaining("HiddenStateModel");
        assertThat(calls).isEmpty();
    }

    @Test
    void severalSequencesPerPromptAreRefused() {
        GenerationConfig two = GenerationConfig.builder().endToken(EOS).numReturnSequences(2).build();

        assertThatThrownBy(() -> new ContrastiveSearchDecoding(0.6, 4).generate(dogIsNew(), PROMPTS, two))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("numReturnSequences must be 1, got 2");
    }

    @Test
    void hiddenStatesOfTheWrongWidthAreReported() {
        TableLanguageModel model = new TableLanguageModel(TableLanguageModel::nextWords, 2,
                context -> new float[] {1, 0, 0});

        assertThatThrownBy(() -> new ContrastiveSearchDecoding(0.6, 4).generate(model, PROMPTS, untilEos))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("model.lastHiddenStates() after start returned 3 values for row 0, expected k × "
                        + "hiddenSize 2 for the prompt's last 1 ≤ k ≤ 1 tokens");
    }

    @Test
    void passesTheDecodingConformanceSuiteWithEveryCheck() {
        List<CheckResult> results = DecodingConformance.run(PROVIDER);

        assertThat(results).extracting(CheckResult::check).containsExactlyElementsOf(DecodingConformance.checkNames());
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
        assertThat(results).filteredOn(r -> r.check().equals("equals-greedy-when-degenerate")).singleElement()
                .satisfies(r -> assertThat(r.detail()).contains("{penaltyAlpha=0}"));
    }
}
