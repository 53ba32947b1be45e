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
     * A decoder for one stream of token ids, such as a generation printed as it is produced: each
     * token is decoded once, on arrival, so a stream of n tokens costs O(n), not the O(n²) of
     * decoding the growing list again for every token.
     *
     * @return A new decoder with nothing fed to it.
     */
    IncrementalDecoder incrementalDecoder();

    /**
     * Decodes a stream of token ids piece by piece: the pieces returned by {@link #next} and then
     * {@link #finish} concatenate to {@link Tokenizer#decode} of all the ids. A piece holds back
     * the start of a character whose remaining bytes are still to come (a byte tokenizer emits "—"
     * as three tokens), so no piece ends in a half character. Not thread-safe.
     */
    interface IncrementalDecoder {

        /**
         * Feeds the next id.
         *
         * @param id A token id in {@code [0, vocabularySize())}.
         * @return The text that id completes, possibly empty.
         * @throws IllegalArgumentException If the id is out of range.
         */
        String next(int id);

        /**
         * Ends the stream.
         *
         * @return Whatever was held back, an incomplete character at the end decoding as U+FFFD.
         */
        String finish();
    }

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
