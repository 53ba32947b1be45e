package org.xformers4j.component.conformance;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * {@code huge-max-new-tokens}: maxNewTokens is a bound, not a size to allocate. With the end token,
 * every path through the table ends within three tokens, so maxNewTokens {@link Integer#MAX_VALUE}
 * must give the sequences and scores of maxNewTokens {@value DecodingCheck#MAX_NEW_TOKENS}. A
 * strategy that sizes an array by prompt length + maxNewTokens overflows (or, with two billion,
 * asks for gigabytes) and fails: a host must never see an {@link OutOfMemoryError} from an argument.
 */
final class GrowsWithinMaxNewTokens implements DecodingCheck {

    @Override
    public String name() {
        return "huge-max-new-tokens";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        List<List<GeneratedSequence>> bounded = DecodingCheck.generate(subject, Map.of(),
                DecodingCheck.withEndToken().build());
        List<List<GeneratedSequence>> huge;
        try {
            huge = DecodingCheck.generate(subject, Map.of(),
                    DecodingCheck.withEndToken().maxNewTokens(Integer.MAX_VALUE).build());
        } catch (RuntimeException | OutOfMemoryError e) {
            return Verdict.fail("maxNewTokens " + Integer.MAX_VALUE + " threw " + e + "; maxNewTokens " + MAX_NEW_TOKENS
                    + " gave " + DecodingCheck.words(bounded));
        }
        if (!DecodingCheck.words(huge).equals(DecodingCheck.words(bounded))) {
            return Verdict.fail("maxNewTokens " + Integer.MAX_VALUE + " gave " + DecodingCheck.words(huge)
                    + ", but maxNewTokens " + MAX_NEW_TOKENS + " gave " + DecodingCheck.words(bounded)
                    + " and every path ends at the end token before that");
        }
        return Verdict.pass("maxNewTokens " + Integer.MAX_VALUE + " with the end token gives what "
                + MAX_NEW_TOKENS + " gives: " + DecodingCheck.words(huge));
    }
}
