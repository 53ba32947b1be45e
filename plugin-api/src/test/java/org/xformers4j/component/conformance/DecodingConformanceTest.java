package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ProviderWithDefaults;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.HiddenStateModel;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.nn.TestSoftmaxAttention;

/**
 * The decoding suite catches what it promises to catch, on test doubles: a greedy strategy that
 * can be told to make one mistake, and a strategy declared stochastic that ignores its seed;
 * model-plugins applies it to the real strategies.
 */
class DecodingConformanceTest {

    // ------------------------------------------------------------------ test doubles

    /** What {@link Argmax} gets wrong. */
    public enum Fault {
        NONE,
        /** Ignores the end token and generates one token more than maxNewTokens. */
        OVERRUNS,
        /** Continues previous row 1 of a single-row session. */
        BAD_ORIGIN,
        /** Never calls the logits processors. */
        SKIPS_PROCESSORS,
        /** Returns, for several sequences, the runner-up path before the best one. */
        WORST_FIRST,
        /** Picks the second most probable token at the first step. */
        RUNNER_UP,
        /** Sizes its row by the prompt's length + maxNewTokens. */
        PRE_ALLOCATES,
        /** Expects a hidden state for every prompt token, as if the model saw the whole prompt. */
        WHOLE_PROMPT_STATES
    }

    /**
     * Greedy decoding, one prompt at a time; for numReturnSequences n it returns the paths that
     * start with the n most probable first tokens, sorted by score, best first.
     */
    @ComponentInfo(name = "test-argmax", summary = "Greedy decoding with an optional fault", reference = "test double")
    @DecodingCapabilities(stochastic = false, multipleHypotheses = false)
    public static final class Argmax implements DecodingStrategy {
        @Config(description = "The mistake to make.")
        private Fault fault = Fault.NONE;

        private Argmax() {
        }

        @Override
        public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
            return decode(model, prompts, config, fault);
        }

        static List<List<GeneratedSequence>> decode(DecodingModel model, int[][] prompts, GenerationConfig config,
                                                    Fault fault) {
            List<List<GeneratedSequence>> out = new ArrayList<>();
            for (int[] prompt : prompts) {
                List<GeneratedSequence> sequences = new ArrayList<>();
                for (int rank = 0; rank < config.numReturnSequences(); rank++) {
                    sequences.add(path(model, prompt, config, fault, fault == Fault.RUNNER_UP ? 1 : rank));
                }
                Comparator<GeneratedSequence> bestFirst = Comparator.comparingDouble(GeneratedSequence::score).reversed();
                sequences.sort(fault == Fault.WORST_FIRST ? bestFirst.reversed() : bestFirst);
                out.add(sequences);
            }
            return out;
        }

        /** The path that takes the token of rank {@code firstRank} first, then the most probable ones. */
        private static GeneratedSequence path(DecodingModel model, int[] prompt, GenerationConfig config, Fault fault,
                                              int firstRank) {
            float[] logits = model.start(new int[][] {prompt}).toFloatArray();
            if (fault == Fault.WHOLE_PROMPT_STATES && model instanceof HiddenStateModel states
                    && states.lastHiddenStates()[0].length != prompt.length * states.hiddenSize()) {
                throw new IllegalStateException("expected a hidden state per prompt token");
            }
            if (fault == Fault.PRE_ALLOCATES) {
                int[] unused = new int[prompt.length + config.maxNewTokens()];
            }
            int[] row = prompt.clone();
            double logProbability = 0;
            int limit = fault == Fault.OVERRUNS ? config.maxNewTokens() + 1 : config.maxNewTokens();
            while (row.length - prompt.length < limit) {
                if (fault != Fault.SKIPS_PROCESSORS) {
                    for (LogitsProcessor p : config.logitsProcessors()) {
                        p.process(row, row.length - prompt.length, logits);
                    }
                }
                int rank = row.length == prompt.length ? firstRank : 0;
                Integer[] order = new Integer[logits.length];
                Arrays.setAll(order, i -> i);
                float[] scores = logits;
                Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a]));
                int token = order[rank];
                double logSum = Math.log(Arrays.stream(order).mapToDouble(i -> Math.exp(scores[i])).sum());
                logProbability += scores[token] - logSum;
                row = Arrays.copyOf(row, row.length + 1);
                row[row.length - 1] = token;
                if (token == config.endToken() && fault != Fault.OVERRUNS) {
                    break;
                }
                logits = model.advance(new int[] {token}, new int[] {fault == Fault.BAD_ORIGIN ? 1 : 0}).toFloatArray();
            }
            int[] tokens = Arrays.copyOfRange(row, prompt.length, row.length);
            return new GeneratedSequence(tokens, logProbability, logProbability);
        }
    }

    /** Declared stochastic, but decodes greedily whatever the seed. */
    @ComponentInfo(name = "test-seedless", summary = "Ignores its seed", reference = "test double")
    @DecodingCapabilities(stochastic = true, multipleHypotheses = false)
    public static final class Seedless implements DecodingStrategy {
        private Seedless() {
        }

        @Override
        public List<List<GeneratedSequence>> generate(DecodingModel model, int[][] prompts, GenerationConfig config) {
            return Argmax.decode(model, prompts, config, Fault.NONE);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static <T extends Component> ComponentProvider<T> provider(Class<T> type) {
        return new ConfigurableComponentProvider<>(type) {
        };
    }

    /** Runs the suite on {@link Argmax} configured with {@code fault} on top of the suite's options. */
    private static List<CheckResult> run(Fault fault) {
        ComponentProvider<Argmax> argmax = provider(Argmax.class);
        ComponentProvider<Argmax> faulty = ProviderWithDefaults.of(argmax, Map.of("fault", fault.name()));
        return DecodingConformance.run(faulty);
    }

    /** The checks that failed, by name. */
    private static List<String> failed(List<CheckResult> results) {
        return results.stream().filter(r -> !r.passed()).map(CheckResult::check).toList();
    }

    private static String detail(List<CheckResult> results, String check) {
        return results.stream().filter(r -> r.check().equals(check)).map(CheckResult::detail).collect(
                Collectors.joining());
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aCorrectGreedyStrategyPassesEveryCheck() {
        List<CheckResult> results = run(Fault.NONE);
        assertThat(results).extracting(CheckResult::check).containsExactlyElementsOf(DecodingConformance.checkNames());
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
        assertThat(detail(results, "equals-greedy-when-degenerate"))
                .contains("with its defaults").contains("[nice woman <eos>, has <eos>]");
        assertThat(detail(results, "returns-best-first")).contains("numReturnSequences 1 and 2 honoured")
                .contains("[[dog has <eos>, nice woman <eos>]");
    }

    @Test
    void overrunningMaxNewTokensAndTheEndTokenFails() {
        List<CheckResult> results = run(Fault.OVERRUNS);
        assertThat(failed(results)).contains("respects-max-new-tokens", "stops-at-end-token");
        assertThat(detail(results, "respects-max-new-tokens")).contains("maxNewTokens 1 without an end token gave");
    }

    @Test
    void anOutOfRangeOriginFails() {
        List<CheckResult> results = run(Fault.BAD_ORIGIN);
        assertThat(failed(results)).contains("valid-origins");
        assertThat(detail(results, "valid-origins"))
                .isEqualTo("the model refused a call: advance: origin 1 of new row 0 is not one of the 1 previous rows");
    }

    @Test
    void skippingLogitsProcessorsFails() {
        List<CheckResult> results = run(Fault.SKIPS_PROCESSORS);
        assertThat(failed(results)).containsExactly("applies-logits-processors");
        assertThat(detail(results, "applies-logits-processors")).startsWith("a processor banning 'nice' was never "
                + "called, but seed 0 gave [[nice woman <eos>]");
    }

    @Test
    void returningTheWorseSequenceFirstFails() {
        List<CheckResult> results = run(Fault.WORST_FIRST);
        assertThat(failed(results)).containsExactly("returns-best-first");
        assertThat(detail(results, "returns-best-first")).startsWith("numReturnSequences 2: not best first");
    }

    @Test
    void aStrategyThatIsNotGreedyWhereItShouldBeFails() {
        List<CheckResult> results = run(Fault.RUNNER_UP);
        assertThat(failed(results)).contains("equals-greedy-when-degenerate");
        assertThat(detail(results, "equals-greedy-when-degenerate")).contains("greedy gives 'nice woman <eos>'");
    }

    @Test
    void aStrategyThatAssumesTheModelSawTheWholePromptFails() {
        List<CheckResult> results = run(Fault.WHOLE_PROMPT_STATES);
        assertThat(failed(results)).containsExactly("prompt-longer-than-context");
        assertThat(detail(results, "prompt-longer-than-context")).startsWith("prompts of 14 and 17 tokens for a model "
                + "that sees 2 threw java.lang.IllegalStateException: expected a hidden state per prompt token; cut to "
                + "their last 2 tokens they gave [[has <eos>], [woman <eos>]]");
    }

    @Test
    void aStrategyThatSizesItsRowsByMaxNewTokensFails() {
        List<CheckResult> results = run(Fault.PRE_ALLOCATES);
        assertThat(failed(results)).containsExactly("huge-max-new-tokens");
        assertThat(detail(results, "huge-max-new-tokens")).startsWith("maxNewTokens 2147483647 threw "
                + "java.lang.NegativeArraySizeException");
    }

    @Test
    void aStochasticStrategyThatIgnoresItsSeedFailsAndIsNotComparedWithGreedy() {
        List<CheckResult> results = DecodingConformance.run(provider(Seedless.class));
        assertThat(failed(results)).containsExactly("deterministic-for-seed");
        assertThat(detail(results, "deterministic-for-seed")).contains("declared stochastic, but seeds 0..19 all gave");
        assertThat(results).extracting(CheckResult::check).doesNotContain("equals-greedy-when-degenerate");
    }

    @Test
    void onlyDecodingComponentsAreChecked() {
        assertThatThrownBy(() -> DecodingConformance.run(provider(TestSoftmaxAttention.class)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is a component of kind attention");
    }
}
