package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * {@code applies-logits-processors}: a logits processor that bans "nice", the greedy choice after
 * "The" (it sets its logit to −∞), is called and keeps "nice" out of every returned sequence, for
 * seeds 0 … {@value DeterministicForSeed#SEEDS}−1 (unbanned, "nice" has probability 0.5).
 */
final class AppliesLogitsProcessors implements DecodingCheck {

    private static final int BANNED = NextTokenTable.ids("nice")[0];

    @Override
    public String name() {
        return "applies-logits-processors";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        int[] calls = {0};
        LogitsProcessor ban = (tokens, generated, logits) -> {
            calls[0]++;
            logits[BANNED] = Float.NEGATIVE_INFINITY;
        };
        for (long seed = 0; seed < DeterministicForSeed.SEEDS; seed++) {
            List<List<GeneratedSequence>> output = DecodingCheck.generate(subject, Map.of(),
                    DecodingCheck.withEndToken().seed(seed).logitsProcessors(List.of(ban)).build());
            boolean banned = output.stream().flatMap(List::stream)
                    .noneMatch(s -> Arrays.stream(s.tokens()).anyMatch(t -> t == BANNED));
            if (!banned) {
                return Verdict.fail("a processor banning 'nice' was " + (calls[0] == 0 ? "never called" : "called")
                        + ", but seed " + seed + " gave " + DecodingCheck.words(output));
            }
        }
        return calls[0] == 0 ? Verdict.fail("the logits processor was never called")
                : Verdict.pass("banning 'nice' (the greedy choice after 'The'), seeds 0.."
                        + (DeterministicForSeed.SEEDS - 1) + ": never returned; " + calls[0] + " processor calls");
    }
}
