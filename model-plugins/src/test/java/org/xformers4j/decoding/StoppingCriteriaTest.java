package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.decoding.TableLanguageModel.EOS;
import static org.xformers4j.decoding.TableLanguageModel.id;
import static org.xformers4j.decoding.TableLanguageModel.ids;
import static org.xformers4j.decoding.TableLanguageModel.words;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.StoppingCriterion;
import org.xformers4j.decoding.processing.EndTokens;
import org.xformers4j.decoding.processing.MaxNewTokens;
import org.xformers4j.decoding.processing.MaxTime;
import org.xformers4j.decoding.processing.StopSequences;

class StoppingCriteriaTest {

    /** Greedy continuations of the prompts, as words, under the criteria. */
    private static List<String> greedy(List<StoppingCriterion> criteria, String... prompts) {
        GenerationConfig config = GenerationConfig.builder().endToken(EOS).stoppingCriteria(criteria).build();
        int[][] ids = new int[prompts.length][];
        for (int p = 0; p < prompts.length; p++) {
            ids[p] = ids(prompts[p]);
        }
        return new GreedyDecoding().generate(new TableLanguageModel(), ids, config).stream()
                .map(s -> words(s.get(0).tokens())).toList();
    }

    @Test
    void maxNewTokensStopsAfterThatManyGeneratedTokens() {
        MaxNewTokens two = new MaxNewTokens(2);
        assertThat(two.isDone(new int[] {0, 1, 4}, 1)).isFalse();
        assertThat(two.isDone(new int[] {0, 1, 4}, 2)).isTrue();
        assertThat(greedy(List.of(two), "The", "The dog")).containsExactly("nice woman", "has <eos>");
    }

    @Test
    void endTokensStopAtAnyOfTheirTokensAndKeepIt() {
        EndTokens ends = new EndTokens(id("woman"), id("has"));
        assertThat(ends.isDone(ids("The nice woman"), 2)).isTrue();
        assertThat(ends.isDone(ids("The nice woman"), 0)).as("a prompt ending with one is not stopped").isFalse();
        assertThat(ends.isDone(ids("The nice"), 1)).isFalse();
        assertThat(greedy(List.of(ends), "The", "The dog", "The car")).containsExactly("nice woman", "has", "<eos>");
    }

    @Test
    void stopSequencesStopWhenTheRowEndsWithOneOfThem() {
        StopSequences stops = new StopSequences(List.of(ids("nice woman"), ids("dog has")));
        assertThat(stops.isDone(ids("The nice woman"), 2)).isTrue();
        assertThat(stops.isDone(ids("The woman"), 1)).isFalse();
        assertThat(stops.isDone(ids("The dog has"), 1)).as("a match may begin in the prompt").isTrue();
        assertThat(stops.isDone(ids("The dog has"), 0)).as("but must end with a generated token").isFalse();
        assertThat(greedy(List.of(stops), "The", "The dog", "The car")).containsExactly("nice woman", "has", "<eos>");
    }

    @Test
    void maxTimeStopsOnceTheBudgetIsSpentOnAnInjectedClock() {
        AtomicLong nanos = new AtomicLong(1_000);
        MaxTime budget = new MaxTime(Duration.ofMillis(5), nanos::get);
        assertThat(budget.isDone(new int[] {0}, 1)).isFalse();
        nanos.addAndGet(4_999_999);
        assertThat(budget.isDone(new int[] {0}, 1)).isFalse();
        nanos.addAndGet(1);
        assertThat(budget.isDone(new int[] {0}, 1)).isTrue();

        // each token costs 3 ms: the second one exhausts the budget
        AtomicLong clock = new AtomicLong();
        GenerationConfig config = GenerationConfig.builder().endToken(EOS)
                .stoppingCriteria(List.of(new MaxTime(Duration.ofMillis(5), clock::get)))
                .listener((prompt, token) -> clock.addAndGet(3_000_000)).build();
        assertThat(words(new GreedyDecoding().generate(new TableLanguageModel(), new int[][] {ids("The")}, config)
                .get(0).get(0).tokens())).isEqualTo("nice woman");
        assertThat(new MaxTime(Duration.ofHours(1)).isDone(new int[] {0}, 1)).isFalse();
    }

    @Test
    void invalidArgumentsAreRejectedByNameAndValue() {
        assertThatThrownBy(() -> new MaxNewTokens(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxNewTokens must be >= 1, got 0");
        assertThatThrownBy(() -> new EndTokens()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endTokens must contain at least one token id");
        assertThatThrownBy(() -> new EndTokens(3, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endTokens has token -1 at position 1; token ids must be >= 0");
        assertThatThrownBy(() -> new StopSequences(List.of(new int[0]))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("stop sequences[0] is empty");
        assertThatThrownBy(() -> new MaxTime(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("max time must be > 0, got PT0S");
        assertThatThrownBy(() -> new MaxTime(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("max time must be > 0, got PT-1S");
    }
}
