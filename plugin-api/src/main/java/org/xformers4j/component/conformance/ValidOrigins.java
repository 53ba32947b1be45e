package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * {@code valid-origins}: the model receives only origins that name one of its previous rows and
 * tokens in its vocabulary (the table refuses anything else), and the rows it is asked about are
 * the sequences returned: before each returned token the model gave logits after exactly the
 * prompt and the tokens before it, and the token has non-zero probability there. A strategy that
 * mixes up rows, e.g. continues "The dog" with "woman", fails.
 */
final class ValidOrigins implements DecodingCheck {

    @Override
    public String name() {
        return "valid-origins";
    }

    @Override
    public boolean appliesTo(DecodingSubject subject) {
        return true;
    }

    @Override
    public Verdict run(DecodingSubject subject) {
        NextTokenTable model = new NextTokenTable();
        GenerationConfig config = DecodingCheck.withEndToken().build();
        DecodingStrategy strategy = subject.create(Map.of());
        List<List<GeneratedSequence>> output;
        try {
            output = strategy.generate(model, PROMPTS, config);
        } catch (IllegalArgumentException refused) {
            return Verdict.fail("the model refused a call: " + refused.getMessage());
        }
        if (output.size() != PROMPTS.length) {
            return Verdict.fail(PROMPTS.length + " prompts but " + output.size() + " lists of sequences");
        }
        for (int p = 0; p < PROMPTS.length; p++) {
            for (GeneratedSequence sequence : output.get(p)) {
                int[] row = DecodingCheck.withPrompt(PROMPTS[p], sequence);
                for (int end = PROMPTS[p].length; end < row.length; end++) {
                    int[] context = Arrays.copyOf(row, end);
                    if (!model.gaveLogitsAfter(context) || NextTokenTable.probability(context, row[end]) == 0) {
                        return Verdict.fail("prompt " + p + " returned '" + NextTokenTable.words(row)
                                + "', but the model was " + (model.gaveLogitsAfter(context) ? "" : "never ")
                                + "asked about '" + NextTokenTable.words(context) + "'"
                                + (model.gaveLogitsAfter(context) ? ", where '" + NextTokenTable.VOCABULARY.get(row[end])
                                + "' has probability 0" : ""));
                    }
                }
            }
        }
        return Verdict.pass("every origin valid; each returned token follows a row the model was asked about: "
                + DecodingCheck.words(output));
    }
}
