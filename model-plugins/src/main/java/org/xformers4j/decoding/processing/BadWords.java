package org.xformers4j.decoding.processing;

import java.util.List;
import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * Keeps given token sequences out of the output, as Hugging Face's {@code NoBadWordsLogitsProcessor}:
 * when a row ends with all but the last token of a bad sequence, that last token is banned; a
 * one-token sequence is banned at every step. A bad sequence can therefore never be completed,
 * although its prefixes may appear. The prompt counts: a row whose prompt ends with a bad prefix
 * cannot complete it with its first token.
 */
public final class BadWords implements LogitsProcessor {

    private final List<int[]> sequences;

    /**
     * @param sequences the banned token sequences, each non-empty, token ids &ge; 0
     * @throws IllegalArgumentException naming the offending sequence or token
     */
    public BadWords(List<int[]> sequences) {
        this.sequences = TokenSequences.copyOf(sequences, "bad words");
    }

    @Override
    public void process(int[] tokens, int generated, float[] logits) {
        for (int[] bad : sequences) {
            if (TokenSequences.endsWith(tokens, bad, bad.length - 1)) {
                TokenSequences.ban(logits, bad[bad.length - 1], "bad words");
            }
        }
    }
}
