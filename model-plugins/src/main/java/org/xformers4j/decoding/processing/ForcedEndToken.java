package org.xformers4j.decoding.processing;

import java.util.Arrays;
import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * Makes the end token the last of {@code maxNewTokens} new tokens, as Hugging Face's
 * {@code ForcedEOSTokenLogitsProcessor} does at {@code max_length}: when a row has generated
 * {@code maxNewTokens − 1} tokens (or more), every logit but the end token's becomes -infinity and
 * the end token's 0, so that every strategy chooses it with probability 1. Use it with
 * {@link org.xformers4j.component.decoding.GenerationConfig#maxNewTokens()} set to the same value so
 * that rows cut by the length limit still end properly.
 */
public final class ForcedEndToken implements LogitsProcessor {

    private final int maxNewTokens;
    private final int endToken;

    /**
     * @param maxNewTokens the number of new tokens whose last is forced, &ge; 1
     * @param endToken     the end token id, &ge; 0
     * @throws IllegalArgumentException naming the bad value
     */
    public ForcedEndToken(int maxNewTokens, int endToken) {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        if (endToken < 0) {
            throw new IllegalArgumentException("endToken must be >= 0, got " + endToken);
        }
        this.maxNewTokens = maxNewTokens;
        this.endToken = endToken;
    }

    @Override
    public void process(int[] tokens, int generated, float[] logits) {
        if (generated >= maxNewTokens - 1) {
            TokenSequences.checkInVocabulary(logits, endToken, "forced end token");
            Arrays.fill(logits, Float.NEGATIVE_INFINITY);
            logits[endToken] = 0f;
        }
    }
}
