package org.xformers4j.component.conformance;

import java.util.List;
import java.util.logging.Logger;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.decoding.DecodingCapabilities;

/**
 * The conformance suite for decoding strategies: what every registered strategy must satisfy,
 * given what its {@link DecodingCapabilities} declare, without a trained model. The suite brings
 * its own model, a fixed next-token table (the classic example of the Hugging Face blog post "How
 * to generate text": after "The", nice 0.5, dog 0.4, car 0.1; after "The nice", woman 0.4, house
 * 0.3, guy 0.3; after "The dog", has 0.9, runs 0.05, and 0.05; then {@code <eos>}), which refuses
 * invalid origins and tokens. It is written once and applied to every strategy, by each plugin
 * module's tests and by {@code xformers4j check}.
 *
 * <p>The checks, in order, on the prompts "The" and "The dog" (unless said otherwise) with the
 * strategy's defaults:
 * <ul>
 *   <li>{@code respects-max-new-tokens}: without an end token, exactly maxNewTokens new tokens.</li>
 *   <li>{@code stops-at-end-token}: every sequence ends at its first end token.</li>
 *   <li>{@code deterministic-for-seed}: the same seed gives the same sequences and scores; a
 *       stochastic strategy gives different ones for some other seed.</li>
 *   <li>{@code valid-origins}: the model receives only valid origins and tokens, and every
 *       returned token follows a row the model was asked about, where it has non-zero
 *       probability.</li>
 *   <li>{@code applies-logits-processors}: a processor banning the greedy choice keeps it out of
 *       the output.</li>
 *   <li>{@code returns-best-first}: numReturnSequences is honoured with sequences sorted by score,
 *       or refused with an {@link IllegalArgumentException} naming it.</li>
 *   <li>{@code equals-greedy-when-degenerate} (a strategy that is neither stochastic nor keeps
 *       several hypotheses, or one that declares {@link DecodingCapabilities#greedyWhen()}): with
 *       those options, the strategy returns greedy decoding's sequences (Hugging Face, "Text
 *       generation strategies": one beam, or sampling from the top-1 token, is greedy search).</li>
 *   <li>{@code prompt-longer-than-context}: over a table that sees only the last two tokens of a
 *       row, as a trained model sees only its context, prompts of 14 and 17 tokens give the
 *       sequences and scores of those prompts cut to their last two tokens.</li>
 *   <li>{@code huge-max-new-tokens}: maxNewTokens {@link Integer#MAX_VALUE} with the end token gives
 *       what a small bound gives; nothing is sized by it.</li>
 * </ul>
 *
 * <p>A check that throws fails with the exception as its detail; the other checks still run. The
 * suite takes milliseconds per strategy.
 *
 * <pre>{@code
 * List<CheckResult> results = DecodingConformance.run(registry.find("beam"));
 * }</pre>
 */
public final class DecodingConformance {

    private static final Logger LOGGER = Logger.getLogger(DecodingConformance.class.getName());

    private static final List<DecodingCheck> CHECKS = List.of(new RespectsMaxNewTokens(), new StopsAtEndToken(),
            new DeterministicForSeed(), new ValidOrigins(), new AppliesLogitsProcessors(), new ReturnsBestFirst(),
            new EqualsGreedyWhenDegenerate(), new PromptLongerThanContext(), new GrowsWithinMaxNewTokens());

    private DecodingConformance() {
    }

    /** The names of every check, in the order they run. */
    public static List<String> checkNames() {
        return CHECKS.stream().map(DecodingCheck::name).toList();
    }

    /**
     * Runs every check that applies to the decoding strategy of {@code provider}.
     *
     * @return one result per check that applied, in {@link #checkNames()} order
     * @throws IllegalArgumentException if {@code provider} is not a decoding component
     */
    public static List<CheckResult> run(ComponentProvider<?> provider) {
        DecodingSubject subject = new DecodingSubject(provider);
        return Check.runAll(subject.name(), subject, CHECKS, LOGGER);
    }
}
