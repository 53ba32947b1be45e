package org.xformers4j.decoding.processing;

import org.xformers4j.component.decoding.LogitsProcessor;

/**
 * Bans every token that would complete an n-gram already in the row (prompt included), as Hugging
 * Face's {@code NoRepeatNGramLogitsProcessor} and the n-gram blocking of Paulus, Xiong and Socher
 * (2018, "A Deep Reinforced Model for Abstractive Summarization") and Klein et al. (2017,
 * OpenNMT): if the row ends with the n − 1 tokens w₁…wₙ₋₁ and w₁…wₙ₋₁x occurs earlier, x is banned.
 * With n = 1 no token may occur twice. Until the row has n − 1 tokens nothing is banned.
 */
public final class NoRepeatNGram implements LogitsProcessor {

    private final int n;

    /**
     * @param n the n-gram size, &ge; 1
     * @throws IllegalArgumentException naming the value otherwise
     */
    public NoRepeatNGram(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("no-repeat n-gram size must be >= 1, got " + n);
        }
        this.n = n;
    }

    @Override
    public void process(int[] tokens, int generated, float[] logits) {
        int prefix = n - 1;
        int length = tokens.length;
        // every earlier n-gram tokens[i .. i+n-1] whose first n-1 tokens equal the row's last n-1
        for (int i = 0; i + n <= length; i++) {
            boolean matches = true;
            for (int j = 0; j < prefix && matches; j++) {
                matches = tokens[i + j] == tokens[length - prefix + j];
            }
            if (matches) {
                TokenSequences.ban(logits, tokens[i + prefix], "no-repeat n-gram");
            }
        }
    }
}
