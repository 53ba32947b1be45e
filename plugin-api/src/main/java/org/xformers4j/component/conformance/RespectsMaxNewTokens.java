package org.xformers4j.component.conformance;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * {@code respects-max-new-tokens}: without an end token or stopping criteria, every sequence has
 * exactly maxNewTokens new tokens, for maxNewTokens 1 and {@value DecodingCheck#MAX_NEW_TOKENS}
 * (longer than the table, whose rows then continue with {@code <eos>} as an ordinary token).
 */
final class RespectsMaxNewTokens implements DecodingCheck {

    @Override
    public String name() {
        return "respects-max-new-tokens";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        for (int max : new int[] {1, MAX_NEW_TOKENS}) {
            List<List<GeneratedSequence>> output = DecodingCheck.generate(subject, Map.of(),
                    GenerationConfig.builder().maxNewTokens(max).build());
            boolean exact = output.stream().flatMap(List::stream).allMatch(s -> s.tokens().length == max);
            if (!exact || output.size() != PROMPTS.length) {
                return Verdict.fail("maxNewTokens " + max + " without an end token gave " + DecodingCheck.words(output)
                        + "; expected " + max + " new token(s) per sequence, for each of " + PROMPTS.length
                        + " prompts");
            }
        }
        return Verdict.pass("maxNewTokens 1 and " + MAX_NEW_TOKENS + " without an end token: exactly that many "
                + "new tokens per sequence");
    }
}
