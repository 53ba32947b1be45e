package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.id;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.tensor.Tensor;

class GreedyDecodingTest {

    private final GreedyDecoding greedy = new GreedyDecoding();
    private final GenerationConfig untilEos = GenerationConfig.builder().endToken(EOS).build();

    /** Bans {@code word} by setting its logit to -infinity. */
    private static LogitsProcessor ban(String word) {
        return (tokens, generated, logits) -> logits[id(word)] = Float.NEGATIVE_INFINITY;
    }

    private static GeneratedSequence only(List<GeneratedSequence> sequences) {
        assertThat(sequences).hasSize(1);
        return sequences.get(0);
    }

    @Test
    void picksTheMostProbableTokenAtEveryStep() {
        GeneratedSequence s = only(greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, untilEos).get(0));

        assertThat(words(s.tokens())).isEqualTo("nice woman <eos>");
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.5 * 0.4, within(1e-6));
        assertThat(s.score()).isEqualTo(s.logProbability());
    }

    @Test
    void advancesOnlyTheActiveRowsFromTheirOrigins() {
        TableLanguageModel model = new TableLanguageModel();
        List<List<GeneratedSequence>> out = greedy.generate(model, new int[][] {ids("The"), ids("The dog")}, untilEos);

        // "The dog has <eos>" ends at the second step while "The nice woman <eos>" goes on.
        assertThat(words(only(out.get(0)).tokens())).isEqualTo("nice woman <eos>");
        GeneratedSequence dog = only(out.get(1));
        assertThat(words(dog.tokens())).isEqualTo("has <eos>");
        assertThat(Math.exp(dog.logProbability())).isCloseTo(0.9, within(1e-6));
        assertThat(model.origins()).containsExactly(new int[] {0, 1}, new int[] {0});
        assertThat(model.queried()).containsExactly(
                List.of("The", "The dog"),
                List.of("The nice", "The dog has"),
                List.of("The nice woman"));
    }

    @Test
    void originsFollowThePreviousStepsRowsWhenAnEarlierRowFinishes() {
        TableLanguageModel model = new TableLanguageModel();
        List<List<GeneratedSequence>> out = greedy.generate(model,
                new int[][] {ids("The dog"), ids("The"), ids("The nice")}, untilEos);

        assertThat(out).extracting(s -> words(only(s).tokens()))
                .containsExactly("has <eos>", "nice woman <eos>", "woman <eos>");
        // Step 2 keeps rows 0 and 1 ("The dog has", "The nice"); step 3 keeps the second of those.
        assertThat(model.origins()).containsExactly(new int[] {0, 1, 2}, new int[] {1});
        assertThat(model.queried().get(2)).containsExactly("The nice woman");
    }

    @Test
    void batchingGivesTheSameSequencesAsOnePromptAtATime() {
        int[][] prompts = {ids("The"), ids("The dog"), ids("The nice"), ids("The car"), ids("dog")};
        List<List<GeneratedSequence>> batched = greedy.generate(new TableLanguageModel(), prompts, untilEos);

        for (int p = 0; p < prompts.length; p++) {
            List<GeneratedSequence> alone = greedy.generate(new TableLanguageModel(), new int[][] {prompts[p]}, untilEos).get(0);
            assertThat(batched.get(p)).as("prompt %s", words(prompts[p])).isEqualTo(alone);
        }
    }

    @Test
    void stopsAtMaxNewTokensAndWithoutAnEndTokenKeepsGoing() {
        TableLanguageModel model = new TableLanguageModel();
        GenerationConfig two = GenerationConfig.builder().maxNewTokens(2).endToken(EOS).build();
        GeneratedSequence s = only(greedy.generate(model, new int[][] {ids("The")}, two).get(0));

        assertThat(words(s.tokens())).isEqualTo("nice woman");
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.2, within(1e-6));
        assertThat(model.origins()).as("no advance after the last token").hasSize(1);

        GenerationConfig noEnd = GenerationConfig.builder().maxNewTokens(5).build();
        GeneratedSequence t = only(greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, noEnd).get(0));
        assertThat(words(t.tokens())).isEqualTo("nice woman <eos> <eos> <eos>");
    }

    @Test
    void logitsProcessorsChangeTheChoiceAndTheProbability() {
        List<String> seen = new ArrayList<>();
        LogitsProcessor record = (tokens, generated, logits) -> seen.add(words(tokens) + " / " + generated);
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .logitsProcessors(List.of(record, ban("nice"))).build();
        GeneratedSequence s = only(greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, config).get(0));

        assertThat(words(s.tokens())).isEqualTo("dog has <eos>");
        // The log-probability is that of the processed logits: dog has 0.4 / (0.4 + 0.1) after the ban.
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.8 * 0.9, within(1e-6));
        assertThat(seen).containsExactly("The / 0", "The dog / 1", "The dog has / 2");
    }

    @Test
    void processorsRunInOrderOnTheSameLogits() {
        float[] seenBySecond = new float[1];
        LogitsProcessor readDog = (tokens, generated, logits) -> seenBySecond[0] = logits[id("dog")];
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(1)
                .logitsProcessors(List.of(ban("nice"), ban("dog"), readDog)).build();
        GeneratedSequence s = only(greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, config).get(0));

        assertThat(words(s.tokens())).isEqualTo("car");
        assertThat(s.logProbability()).isCloseTo(0.0, within(1e-6));
        assertThat(seenBySecond[0]).isEqualTo(Float.NEGATIVE_INFINITY);
    }

    @Test
    void tiesGoToTheLowestTokenId() {
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).logitsProcessors(List.of(ban("woman"))).build();
        GeneratedSequence s = only(greedy.generate(new TableLanguageModel(), new int[][] {ids("The nice")}, config).get(0));

        // house and guy are both 0.3; house has the lower id.
        assertThat(id("house")).isLessThan(id("guy"));
        assertThat(words(s.tokens())).isEqualTo("house <eos>");
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.5, within(1e-6));
    }

    @Test
    void aStoppingCriterionFinishesItsRow() {
        List<String> seen = new ArrayList<>();
        TableLanguageModel model = new TableLanguageModel();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).stoppingCriteria(List.of((tokens, generated) -> {
            seen.add(words(tokens) + " / " + generated);
            return tokens[tokens.length - 1] == id("woman");
        })).build();
        List<List<GeneratedSequence>> out = greedy.generate(model, new int[][] {ids("The"), ids("The dog")}, config);

        assertThat(words(only(out.get(0)).tokens())).isEqualTo("nice woman");
        assertThat(words(only(out.get(1)).tokens())).isEqualTo("has <eos>");
        // The end token finishes "The dog has <eos>" before the criterion is asked.
        assertThat(seen).containsExactly("The nice / 1", "The dog has / 1", "The nice woman / 2");
        assertThat(model.origins()).containsExactly(new int[] {0, 1});
    }

    @Test
    void theListenerReceivesEveryTokenInOrder() {
        List<String> events = new ArrayList<>();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .listener((prompt, token) -> events.add(prompt + ":" + TableLanguageModel.VOCABULARY.get(token))).build();
        greedy.generate(new TableLanguageModel(), new int[][] {ids("The"), ids("The dog")}, config);

        assertThat(events).containsExactly("0:nice", "1:has", "0:woman", "1:<eos>", "0:<eos>");
    }

    @Test
    void largeLogitsDoNotOverflowTheLogSoftmax() {
        GeneratedSequence s = only(greedy.generate(new TableLanguageModel(1000f), new int[][] {ids("The")}, untilEos).get(0));

        assertThat(words(s.tokens())).isEqualTo("nice woman <eos>");
        assertThat(s.logProbability()).isCloseTo(Math.log(0.2), within(1e-3));
    }

    @Test
    void greedyHasOneHypothesis() {
        GenerationConfig three = GenerationConfig.builder().numReturnSequences(3).build();
        assertThatThrownBy(() -> greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, three))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("greedy decoding keeps one hypothesis per prompt; numReturnSequences must be 1, got 3");
    }

    @Test
    void invalidPromptsAndEndTokenAreRejectedByName() {
        TableLanguageModel model = new TableLanguageModel();
        assertThatThrownBy(() -> greedy.generate(model, new int[0][], untilEos))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("prompts must not be empty");
        assertThatThrownBy(() -> greedy.generate(model, new int[][] {ids("The"), {}}, untilEos))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("prompt 1 is empty");
        assertThatThrownBy(() -> greedy.generate(model, new int[][] {{0, 11}}, untilEos))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompt 0 has token 11 at position 1, outside the vocabulary of 11 tokens");
        assertThatThrownBy(() -> greedy.generate(model, new int[][] {{-2}}, untilEos))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token -2 at position 0");
        GenerationConfig badEnd = GenerationConfig.builder().endToken(11).build();
        assertThatThrownBy(() -> greedy.generate(model, new int[][] {ids("The")}, badEnd))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endToken 11 is outside the vocabulary of 11 tokens");
        assertThat(model.queried()).as("nothing reaches the model").isEmpty();
    }

    @Test
    void logitsOfTheWrongShapeAreRejected() {
        assertThatThrownBy(() -> greedy.generate(new MisshapenModel(true, 0, -1), new int[][] {{0}}, untilEos))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("model.start returned logits of shape [1, 10], expected [1, 11] (active rows, vocabularySize)");
        assertThatThrownBy(() -> greedy.generate(new MisshapenModel(false, 1, 0), new int[][] {{0}, {1}}, untilEos))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("model.advance returned logits of shape [3, 11], expected [2, 11] (active rows, vocabularySize)");
    }

    @Test
    void logitsThatAllowNoChoiceAreRejected() {
        GenerationConfig banAll = GenerationConfig.builder()
                .logitsProcessors(List.of((tokens, generated, logits) -> Arrays.fill(logits, Float.NEGATIVE_INFINITY))).build();
        assertThatThrownBy(() -> greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, banAll))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("logits of prompt 0 for new token 1 are all -infinity after logits processing; no token can be chosen");
        GenerationConfig nan = GenerationConfig.builder()
                .logitsProcessors(List.of((tokens, generated, logits) -> logits[3] = generated == 1 ? Float.NaN : logits[3]))
                .build();
        assertThatThrownBy(() -> greedy.generate(new TableLanguageModel(), new int[][] {ids("The")}, nan))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("logits of prompt 0 for new token 2 are NaN at token 3; they must be finite or -infinity");
    }

    /** Zero logits over 11 tokens, misshapen by extra rows and columns from start or from advance. */
    private record MisshapenModel(boolean atStart, int extraRows, int extraColumns) implements DecodingModel {
        @Override
        public int vocabularySize() {
            return 11;
        }

        @Override
        public Tensor start(int[][] prompts) {
            return logits(prompts.length, atStart);
        }

        @Override
        public Tensor advance(int[] tokens, int[] origins) {
            return logits(tokens.length, !atStart);
        }

        private Tensor logits(int rows, boolean misshapen) {
            return misshapen ? Tensor.zeros(rows + extraRows, 11 + extraColumns) : Tensor.zeros(rows, 11);
        }
    }
}
