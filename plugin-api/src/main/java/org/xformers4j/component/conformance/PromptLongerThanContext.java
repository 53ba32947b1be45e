package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * {@code prompt-longer-than-context}: a model sees a limited context, as a trained one does (its
 * training context length), and cuts a longer prompt to its last tokens; it then gives logits, and
 * hidden states, for fewer tokens than the prompt holds. The check drives the strategy over a
 * {@link NextTokenTable} that sees {@value #WINDOW} tokens, once with prompts far longer than that
 * and once with those prompts cut to their last {@value #WINDOW} tokens ("The dog", "The nice"),
 * which the model cannot tell apart: the sequences and scores must be the same. A strategy that
 * assumes the model saw the whole prompt (expects a hidden state per prompt token, say) fails.
 */
final class PromptLongerThanContext implements DecodingCheck {

    /** The tokens the model sees of each row. */
    static final int WINDOW = 2;

    /** Longer than the window by far, of different lengths, ending as the cut prompts do. */
    private static final int[][] LONG_PROMPTS = {
            NextTokenTable.ids("car ".repeat(12) + "The dog"), NextTokenTable.ids("house ".repeat(15) + "The nice")};

    private static final int[][] CUT_PROMPTS = Arrays.stream(LONG_PROMPTS)
            .map(p -> Arrays.copyOfRange(p, p.length - WINDOW, p.length)).toArray(int[][]::new);

    @Override
    public String name() {
        return "prompt-longer-than-context";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        GenerationConfig config = DecodingCheck.withEndToken().seed(7).build();
        List<List<GeneratedSequence>> cut = subject.create(Map.of()).generate(new NextTokenTable(WINDOW), CUT_PROMPTS,
                config);
        List<List<GeneratedSequence>> whole;
        try {
            whole = subject.create(Map.of()).generate(new NextTokenTable(WINDOW), LONG_PROMPTS, config);
        } catch (RuntimeException e) {
            return Verdict.fail("prompts of " + LONG_PROMPTS[0].length + " and " + LONG_PROMPTS[1].length
                    + " tokens for a model that sees " + WINDOW + " threw " + e + "; cut to their last " + WINDOW
                    + " tokens they gave " + DecodingCheck.words(cut));
        }
        if (!DecodingCheck.words(whole).equals(DecodingCheck.words(cut)) || !scores(whole).equals(scores(cut))) {
            return Verdict.fail("prompts longer than the model's context of " + WINDOW + " tokens gave "
                    + DecodingCheck.words(whole) + " with scores " + scores(whole) + ", but cut to the tokens the model "
                    + "sees they gave " + DecodingCheck.words(cut) + " with scores " + scores(cut));
        }
        return Verdict.pass("prompts of " + LONG_PROMPTS[0].length + " and " + LONG_PROMPTS[1].length + " tokens for a "
                + "model that sees " + WINDOW + " give what their last " + WINDOW + " tokens give: "
                + DecodingCheck.words(whole));
    }

    private static String scores(List<List<GeneratedSequence>> output) {
        return output.stream().map(sequences -> sequences.stream().map(GeneratedSequence::score).toList()).toList()
                .toString();
    }
}
