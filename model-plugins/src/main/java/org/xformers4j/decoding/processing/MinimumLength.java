package org.xformers4j.decoding.processing;

import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * Bans the end tokens until a row is long enough, as Hugging Face's {@code MinLengthLogitsProcessor}
 * (counting the whole row, prompt included: {@link #total}) and
 * {@code MinNewTokensLengthLogitsProcessor} (counting the generated tokens only: {@link #newTokens}).
 * As there, the length is that of the row before the end token: with {@code newTokens(2, end)} the
 * end token can be the third new token at the earliest. A stopping criterion or the length limit
 * can still stop the row earlier.
 */
public final class MinimumLength implements LogitsProcessor {

    private final int minimum;
    private final boolean countPrompt;
    private final int[] endTokens;

    private MinimumLength(int minimum, boolean countPrompt, int[] endTokens, String field) {
        if (minimum < 0) {
            throw new IllegalArgumentException(field + " must be >= 0, got " + minimum);
        }
        this.minimum = minimum;
        this.countPrompt = countPrompt;
        this.endTokens = TokenSequences.tokenIds(endTokens, "endTokens");
    }

    /**
     * Bans the end tokens while the row, prompt included, has fewer than {@code minLength} tokens:
     * an end token follows at least {@code minLength} tokens.
     *
     * @throws IllegalArgumentException if minLength &lt; 0 or there is no end token or a negative one
     */
    public static MinimumLength total(int minLength, int... endTokens) {
        return new MinimumLength(minLength, true, endTokens, "minLength");
    }

    /**
     * Bans the end tokens while fewer than {@code minNewTokens} tokens were generated: an end
     * token follows at least {@code minNewTokens} new tokens.
     *
     * @throws IllegalArgumentException if minNewTokens &lt; 0 or there is no end token or a negative one
     */
    public static MinimumLength newTokens(int minNewTokens, int... endTokens) {
        return new MinimumLength(minNewTokens, false, endTokens, "minNewTokens");
    }

    @Override
    public void process(int[] tokens, int generated, float[] logits) {
        int length = countPrompt ? tokens.length : generated;
        if (length < minimum) {
            for (int token : endTokens) {
                TokenSequences.ban(logits, token, "minimum length");
            }
        }
    }
}
