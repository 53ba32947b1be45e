package org.xformers4j.decoding.processing;

import org.xformers4j.component.decoding.StoppingCriterion;

/**
 * Stops a row after {@code maxNewTokens} generated tokens, besides
 * {@link org.xformers4j.component.decoding.GenerationConfig#maxNewTokens()}: a tighter limit that can
 * be combined with other criteria (Hugging Face's {@code MaxLengthCriteria}, counting new tokens).
 */
public final class MaxNewTokens implements StoppingCriterion {

    private final int maxNewTokens;

    /**
     * @param maxNewTokens &ge; 1
     * @throws IllegalArgumentException naming the value otherwise
     */
    public MaxNewTokens(int maxNewTokens) {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        this.maxNewTokens = maxNewTokens;
    }

    @Override
    public boolean isDone(int[] tokens, int generated) {
        return generated >= maxNewTokens;
    }
}
