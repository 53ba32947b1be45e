package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;

/**
 * One named check of the decoding conformance suite. Every check drives the strategy over a fresh
 * {@link NextTokenTable}, with the prompts "The" and "The dog" unless it says otherwise.
 */
interface DecodingCheck extends Check<DecodingSubject> {

    /** The suite's prompts: two, of different lengths, so rows of different prompts cannot be confused. */
    int[][] PROMPTS = {NextTokenTable.ids("The"), NextTokenTable.ids("The dog")};

    /** More new tokens than any path through the table needs to reach its end token. */
    int MAX_NEW_TOKENS = 6;

    /** A configuration with the end token of the table and {@link #MAX_NEW_TOKENS}. */
    static GenerationConfig.Builder withEndToken() {
        return GenerationConfig.builder().maxNewTokens(MAX_NEW_TOKENS).endToken(NextTokenTable.END);
    }

    /** Generates with {@code options} over a fresh table; the table rejects invalid origins and tokens. */
    static List<List<GeneratedSequence>> generate(DecodingSubject subject, Map<String, String> options,
                                                  GenerationConfig config) {
        return subject.create(options).generate(new NextTokenTable(), PROMPTS, config);
    }

    /** The sequences of every prompt as words, e.g. {@code [[nice woman <eos>], [has <eos>]]}. */
    static String words(List<List<GeneratedSequence>> output) {
        return output.stream().map(sequences -> sequences.stream().map(s -> NextTokenTable.words(s.tokens())).toList())
                .toList().toString();
    }

    /** {@code sequence} with the prompt in front. */
    static int[] withPrompt(int[] prompt, GeneratedSequence sequence) {
        int[] tokens = sequence.tokens();
        int[] all = Arrays.copyOf(prompt, prompt.length + tokens.length);
        System.arraycopy(tokens, 0, all, prompt.length, tokens.length);
        return all;
    }
}
