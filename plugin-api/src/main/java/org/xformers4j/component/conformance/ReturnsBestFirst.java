package org.xformers4j.component.conformance;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;

/**
 * {@code returns-best-first}: with numReturnSequences 1, one sequence per prompt; with
 * numReturnSequences {@value #SEVERAL}, either that many per prompt sorted by non-increasing score
 * or a clear refusal, an {@link IllegalArgumentException} that names numReturnSequences (greedy
 * decoding has only one hypothesis to return). The table has more than {@value #SEVERAL}
 * complete continuations of "The", so a strategy that keeps enough hypotheses can return them.
 */
final class ReturnsBestFirst implements DecodingCheck {

    static final int SEVERAL = 2;

    @Override
    public String name() {
        return "returns-best-first";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        List<List<GeneratedSequence>> one = DecodingCheck.generate(subject, Map.of(),
                DecodingCheck.withEndToken().build());
        if (one.size() != PROMPTS.length || one.stream().anyMatch(s -> s.size() != 1)) {
            return Verdict.fail("numReturnSequences 1 gave " + DecodingCheck.words(one));
        }
        List<List<GeneratedSequence>> several;
        try {
            several = DecodingCheck.generate(subject, Map.of(),
                    DecodingCheck.withEndToken().numReturnSequences(SEVERAL).build());
        } catch (IllegalArgumentException refused) {
            return refused.getMessage() != null && refused.getMessage().contains("numReturnSequences")
                    ? Verdict.pass("one sequence per prompt; numReturnSequences " + SEVERAL + " refused: "
                            + refused.getMessage())
                    : Verdict.fail("numReturnSequences " + SEVERAL + " refused without naming it: " + refused);
        }
        for (List<GeneratedSequence> sequences : several) {
            if (sequences.size() != SEVERAL) {
                return Verdict.fail("numReturnSequences " + SEVERAL + " gave " + DecodingCheck.words(several));
            }
            for (int i = 1; i < sequences.size(); i++) {
                if (sequences.get(i).score() > sequences.get(i - 1).score()) {
                    return Verdict.fail("numReturnSequences " + SEVERAL + ": not best first, " + sequences);
                }
            }
        }
        return Verdict.pass("numReturnSequences 1 and " + SEVERAL + " honoured, best first: "
                + DecodingCheck.words(several));
    }
}
