package org.xformers4j.decoding.processing;

import java.util.List;
import org.xformers4j.component.decoding.StoppingCriterion;

/**
 * "Stop strings" at the level of tokens: a row stops as soon as it ends with one of the given token
 * sequences, which stay in the output (Hugging Face's {@code StopStringCriteria}). A match may begin
 * in the prompt but ends with a generated token. Text stop strings are turned into token sequences
 * by the tokenizer before they get here; since one string can be tokenized in several ways, a caller
 * that needs every way should pass each of them.
 */
public final class StopSequences implements StoppingCriterion {

    private final List<int[]> sequences;

    /**
     * @param sequences the stop sequences, each non-empty, token ids &ge; 0
     * @throws IllegalArgumentException naming the offending sequence or token
     */
    public StopSequences(List<int[]> sequences) {
        this.sequences = TokenSequences.copyOf(sequences, "stop sequences");
    }

    @Override
    public boolean isDone(int[] tokens, int generated) {
        if (generated == 0) {
            return false;
        }
        for (int[] stop : sequences) {
            if (TokenSequences.endsWith(tokens, stop, stop.length)) {
                return true;
            }
        }
        return false;
    }
}
