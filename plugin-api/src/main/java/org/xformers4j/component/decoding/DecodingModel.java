package org.xformers4j.component.decoding;

import org.xformers4j.tensor.Tensor;

/**
 * A language model as a decoding strategy drives it: one session of rows (hypotheses), each
 * extended by one token per step, reusing whatever cache the model keeps.
 */
public interface DecodingModel {

    /** Number of token ids; logits have this many columns. */
    int vocabularySize();

    /**
     * Starts a session with one row per prompt and returns the next-token logits after each
     * prompt, [prompts.length, vocabularySize].
     */
    Tensor start(int[][] prompts);

    /**
     * Builds the next rows: row i continues previous row {@code origins[i]} with {@code tokens[i]}
     * (rows may be repeated or dropped, as beams are). Returns the next-token logits of the new
     * rows, [tokens.length, vocabularySize].
     */
    Tensor advance(int[] tokens, int[] origins);
}
