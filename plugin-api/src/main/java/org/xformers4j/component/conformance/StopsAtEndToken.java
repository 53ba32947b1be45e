package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;

/**
 * {@code stops-at-end-token}: with the end token set, every sequence ends with it and contains it
 * nowhere else; every path through the table reaches it within three tokens, well before
 * maxNewTokens.
 */
final class StopsAtEndToken implements DecodingCheck {

    @Override
    public String name() {
        return "stops-at-end-token";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        List<List<GeneratedSequence>> output = DecodingCheck.generate(subject, Map.of(),
                DecodingCheck.withEndToken().build());
        boolean stops = output.stream().flatMap(List::stream).map(GeneratedSequence::tokens).allMatch(t ->
                t.length > 0 && t[t.length - 1] == NextTokenTable.END
                        && Arrays.stream(t).filter(x -> x == NextTokenTable.END).count() == 1);
        return stops ? Verdict.pass("end token <eos>: " + DecodingCheck.words(output))
                : Verdict.fail("end token <eos> with maxNewTokens " + MAX_NEW_TOKENS + " gave "
                        + DecodingCheck.words(output) + "; every sequence must end at its first <eos>");
    }
}
