package org.xformers4j.decoding.processing;

import org.xformers4j.component.decoding.StoppingCriterion;

/**
 * Stops a row when its last generated token is one of a set of end tokens (Hugging Face's
 * {@code EosTokenCriteria} with several ids), for models with more than the one
 * {@link org.xformers4j.component.decoding.GenerationConfig#endToken() end token} of the
 * configuration, such as an end-of-turn token besides end-of-text. The end token stays in the output.
 */
public final class EndTokens implements StoppingCriterion {

    private final int[] endTokens;

    /**
     * @param endTokens at least one token id, each &ge; 0
     * @throws IllegalArgumentException naming the bad token otherwise
     */
    public EndTokens(int... endTokens) {
        this.endTokens = TokenSequences.tokenIds(endTokens, "endTokens");
    }

    @Override
    public boolean isDone(int[] tokens, int generated) {
        if (generated == 0) {
            return false;
        }
        int last = tokens[tokens.length - 1];
        for (int end : endTokens) {
            if (last == end) {
                return true;
            }
        }
        return false;
    }
}
