package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.decoding.processing.BadWords;
import org.xformers4j.decoding.processing.ForcedEndToken;
import org.xformers4j.decoding.processing.MinimumLength;
import org.xformers4j.decoding.processing.NoRepeatNGram;
import org.xformers4j.decoding.processing.RepetitionPenalty;

class LogitsProcessorsTest {

    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    /** The logits after {@code processor} saw the row {@code tokens}, of which the last {@code generated} are new. */
    private static float[] processed(LogitsProcessor processor, int[] tokens, int generated, float... logits) {
        float[] out = logits.clone();
        processor.process(tokens, generated, out);
        return out;
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokensOnce() {
        RepetitionPenalty penalty = new RepetitionPenalty(2f);
        // tokens 0 and 1 seen (0 twice), 2 and 3 not
        assertThat(processed(penalty, new int[] {0, 1, 0}, 1, 3f, -1.5f, 4f, 0.5f))
                .containsExactly(1.5f, -3f, 4f, 0.5f);
        assertThat(processed(penalty, new int[] {2}, 0, 1f, 1f, NEG_INF)).containsExactly(1f, 1f, NEG_INF);
        assertThat(processed(new RepetitionPenalty(0.5f), new int[] {1}, 1, 1f, 1f, -2f)).containsExactly(1f, 2f, -2f);
    }

    @Test
    void noRepeatNGramBansTheTokensThatWouldCompleteAnEarlierNGram() {
        float[] zeros = new float[6];
        // bigrams (1,2) and (1,4) start with the last token 1
        assertThat(processed(new NoRepeatNGram(2), new int[] {1, 2, 3, 1, 4, 1}, 3, zeros))
                .containsExactly(0f, 0f, NEG_INF, 0f, NEG_INF, 0f);
        // trigram (1,2,3) starts with the last two tokens 1,2; (2,3,1) does not
        assertThat(processed(new NoRepeatNGram(3), new int[] {1, 2, 3, 1, 2}, 2, zeros))
                .containsExactly(0f, 0f, 0f, NEG_INF, 0f, 0f);
        assertThat(processed(new NoRepeatNGram(1), new int[] {5, 0}, 1, zeros))
                .containsExactly(NEG_INF, 0f, 0f, 0f, 0f, NEG_INF);
        assertThat(processed(new NoRepeatNGram(3), new int[] {1, 1}, 1, zeros)).as("(1,1,1) not seen yet").containsOnly(0f);
        assertThat(processed(new NoRepeatNGram(4), new int[] {1, 1}, 1, zeros)).as("row shorter than n - 1").containsOnly(0f);
    }

    /** After any word, a loop through The, nice and dog; <eos> is the way out when every choice is banned. */
    private static TableLanguageModel loopingModel() {
        return new TableLanguageModel(context -> switch (context.substring(context.lastIndexOf(' ') + 1)) {
            case "The" -> Map.of("nice", 0.6, "dog", 0.39, "<eos>", 0.01);
            case "nice" -> Map.of("The", 0.7, "dog", 0.29, "<eos>", 0.01);
            case "dog" -> Map.of("The", 0.6, "nice", 0.39, "<eos>", 0.01);
            default -> Map.of("<eos>", 1.0);
        });
    }

    /** The n-grams of the row (prompt followed by the sequence) that occur more than once. */
    private static Set<List<Integer>> repeatedNGrams(int[] prompt, GeneratedSequence sequence, int n) {
        int[] row = concat(prompt, sequence.tokens());
        Set<List<Integer>> seen = new HashSet<>();
        Set<List<Integer>> repeated = new HashSet<>();
        for (int i = 0; i + n <= row.length; i++) {
            List<Integer> gram = Arrays.stream(Arrays.copyOfRange(row, i, i + n)).boxed().toList();
            if (!seen.add(gram)) {
                repeated.add(gram);
            }
        }
        return repeated;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void noRepeatNGramNeverRepeatsAnNGramThroughAGenerationOnALoopingTable() {
        int[] prompt = ids("The");
        GenerationConfig free = GenerationConfig.builder().maxNewTokens(30).endToken(EOS).build();
        GeneratedSequence looping = new GreedyDecoding().generate(loopingModel(), new int[][] {prompt}, free).get(0).get(0);
        assertThat(words(looping.tokens())).startsWith("nice The nice The nice");
        assertThat(repeatedNGrams(prompt, looping, 3)).as("without the processor it repeats").isNotEmpty();

        List<DecodingStrategy> strategies = List.of(new GreedyDecoding(), new SamplingDecoding(1, 0, 1, 1, 0));
        for (int n = 2; n <= 3; n++) {
            for (DecodingStrategy strategy : strategies) {
                for (long seed = 0; seed < 10; seed++) {
                    GenerationConfig blocked = GenerationConfig.builder().maxNewTokens(30).endToken(EOS).seed(seed)
                            .logitsProcessors(List.of(new NoRepeatNGram(n))).build();
                    GeneratedSequence s = strategy.generate(loopingModel(), new int[][] {prompt}, blocked).get(0).get(0);
                    assertThat(repeatedNGrams(prompt, s, n)).as("%s, n = %d, seed %d: %s", strategy, n, seed, words(s.tokens()))
                            .isEmpty();
                    assertThat(s.tokens()).as("ends when every continuation is banned").endsWith(EOS);
                }
            }
        }
    }

    @Test
    void badWordsBanTheLastTokenOfASequenceWhoseRestTheRowEndsWith() {
        BadWords bad = new BadWords(List.of(new int[] {3}, new int[] {1, 2}, new int[] {5, 4, 0}));
        float[] ones = {1f, 1f, 1f, 1f, 1f, 1f};
        // 3 always; 2 after 1; 0 after 5 4
        assertThat(processed(bad, new int[] {0, 1}, 1, ones)).containsExactly(1f, 1f, NEG_INF, NEG_INF, 1f, 1f);
        assertThat(processed(bad, new int[] {5, 4}, 1, ones)).containsExactly(NEG_INF, 1f, 1f, NEG_INF, 1f, 1f);
        assertThat(processed(bad, new int[] {4}, 1, ones)).as("prefix 5 4 incomplete").containsExactly(1f, 1f, 1f, NEG_INF, 1f, 1f);
    }

    @Test
    void badWordsKeepAPhraseOutOfTheOutput() {
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .logitsProcessors(List.of(new BadWords(List.of(ids("nice woman"))))).build();
        GeneratedSequence s = new GreedyDecoding().generate(new TableLanguageModel(), new int[][] {ids("The")}, config).get(0).get(0);

        assertThat(words(s.tokens())).isEqualTo("nice house <eos>");
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.5 * 0.5, within(1e-6));
    }

    @Test
    void minimumLengthBansTheEndTokensUntilReached() {
        float[] zeros = new float[4];
        MinimumLength newTokens = MinimumLength.newTokens(2, 3);
        assertThat(processed(newTokens, new int[] {0, 1, 2}, 0, zeros)).containsExactly(0f, 0f, 0f, NEG_INF);
        assertThat(processed(newTokens, new int[] {0, 1, 2}, 1, zeros)).containsExactly(0f, 0f, 0f, NEG_INF);
        assertThat(processed(newTokens, new int[] {0, 1, 2}, 2, zeros)).containsOnly(0f);

        MinimumLength total = MinimumLength.total(4, 3, 1);
        assertThat(processed(total, new int[] {0, 0, 0}, 1, zeros)).containsExactly(0f, NEG_INF, 0f, NEG_INF);
        assertThat(processed(total, new int[] {0, 0, 0, 0}, 2, zeros)).containsOnly(0f);
    }

    @Test
    void minimumNewTokensDelaysTheEndOfAGeneration() {
        // after "The nice" the table most likely ends at once; with one new token required before the end it says "woman"
        TableLanguageModel model = new TableLanguageModel(context -> context.equals("The nice")
                ? Map.of("<eos>", 0.6, "woman", 0.4) : Map.of("<eos>", 1.0));
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .logitsProcessors(List.of(MinimumLength.newTokens(1, EOS))).build();
        GeneratedSequence s = new GreedyDecoding().generate(model, new int[][] {ids("The nice")}, config).get(0).get(0);
        assertThat(words(s.tokens())).isEqualTo("woman <eos>");
    }

    @Test
    void forcedEndTokenMakesTheLastAllowedTokenTheEndToken() {
        ForcedEndToken forced = new ForcedEndToken(3, 2);
        assertThat(processed(forced, new int[] {0, 1}, 1, 5f, 1f, -1f)).containsExactly(5f, 1f, -1f);
        assertThat(processed(forced, new int[] {0, 1, 1}, 2, 5f, 1f, -1f)).containsExactly(NEG_INF, NEG_INF, 0f);

        GenerationConfig config = GenerationConfig.builder().maxNewTokens(2).endToken(EOS)
                .logitsProcessors(List.of(new ForcedEndToken(2, EOS))).build();
        GeneratedSequence s = new GreedyDecoding().generate(new TableLanguageModel(), new int[][] {ids("The")}, config).get(0).get(0);
        assertThat(words(s.tokens())).isEqualTo("nice <eos>");
        assertThat(Math.exp(s.logProbability())).isCloseTo(0.5, within(1e-6));
    }

    @Test
    void tokensOutsideTheVocabularyAreRejectedByName() {
        assertThatThrownBy(() -> processed(new ForcedEndToken(1, 20), new int[] {0}, 0, new float[11]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("forced end token: token 20 is outside the vocabulary of 11 tokens");
        assertThatThrownBy(() -> processed(new BadWords(List.of(new int[] {12})), new int[] {0}, 0, new float[11]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad words: token 12 is outside the vocabulary of 11 tokens");
    }

    @Test
    void invalidArgumentsAreRejectedByNameAndValue() {
        assertThatThrownBy(() -> new RepetitionPenalty(0f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("repetition penalty must be > 0 and finite, got 0.0");
        assertThatThrownBy(() -> new RepetitionPenalty(Float.NaN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("repetition penalty must be > 0 and finite, got NaN");
        assertThatThrownBy(() -> new NoRepeatNGram(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no-repeat n-gram size must be >= 1, got 0");
        assertThatThrownBy(() -> new BadWords(List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad words must contain at least one token sequence, got []");
        assertThatThrownBy(() -> new BadWords(List.of(new int[] {1}, new int[0]))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad words[1] is empty");
        assertThatThrownBy(() -> new BadWords(List.of(new int[] {1, -3}))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bad words[0] has token -3 at position 1; token ids must be >= 0");
        assertThatThrownBy(() -> MinimumLength.newTokens(-1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minNewTokens must be >= 0, got -1");
        assertThatThrownBy(() -> MinimumLength.total(-2, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minLength must be >= 0, got -2");
        assertThatThrownBy(() -> MinimumLength.total(2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endTokens must contain at least one token id");
        assertThatThrownBy(() -> new ForcedEndToken(0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxNewTokens must be >= 1, got 0");
        assertThatThrownBy(() -> new ForcedEndToken(2, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endToken must be >= 0, got -1");
    }
}
