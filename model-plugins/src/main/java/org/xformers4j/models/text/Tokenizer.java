package org.xformers4j.models.text;

import java.util.OptionalInt;

/**
 * Converts text to token ids and back. Ids run from {@code 0} to {@link #vocabularySize()}
 * {@code - 1}; special tokens (such as {@code <|endoftext|>}) have ids of their own and are never
 * split when they occur in the text given to {@link #encode(String)}.
 * <p>
 * Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /**
     * Encodes text into token ids.
     *
     * @param text The text; special tokens occurring in it are encoded as their own ids.
     * @return The token ids.
     */
    int[] encode(String text);

    /**
     * Decodes token ids into text, the inverse of {@link #encode(String)}.
     *
     * @param ids Token ids, each in {@code [0, vocabularySize())}.
     * @return The text.
     * @throws IllegalArgumentException If an id is out of range.
     */
    String decode(int[] ids);

    /**
     * The number of distinct token ids, special tokens included.
     *
     * @return The vocabulary size.
     */
    int vocabularySize();

    /**
     * Looks up the id of a special token.
     *
     * @param specialToken The special token's text, for example {@code <|endoftext|>}.
     * @return Its id, or empty if it is not one of this tokenizer's special tokens.
     */
    OptionalInt tokenId(String specialToken);
}
