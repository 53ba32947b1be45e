package org.xformers4j.models.text;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A byte-level tokenizer: the UTF-8 bytes of the text are the token ids {@code 0..255}, so every
 * text is encodable and there is no unknown token. Configured special tokens take the ids from
 * {@code 256} on, in the order given.
 * <p>
 * Decoding reassembles the bytes; invalid UTF-8 sequences decode to the replacement character
 * U+FFFD. Unpaired surrogates in the input cannot be encoded as UTF-8 and are encoded as
 * {@code '?'}, as {@link String#getBytes(java.nio.charset.Charset)} does.
 */
public final class ByteTokenizer extends ByteLevelTokenizer {

    /** The number of byte tokens. */
    public static final int BYTE_TOKENS = 256;

    /**
     * Creates a byte tokenizer.
     *
     * @param specialTokens Special tokens, given ids {@code 256, 257, …} in this order.
     * @throws IllegalArgumentException If a special token is empty or repeated.
     */
    public ByteTokenizer(List<String> specialTokens) {
        super(tokenBytes(specialTokens), specialIds(specialTokens));
    }

    private static byte[][] tokenBytes(List<String> specialTokens) {
        byte[][] bytes = new byte[BYTE_TOKENS + specialTokens.size()][];
        for (int b = 0; b < BYTE_TOKENS; b++) {
            bytes[b] = new byte[] {(byte) b};
        }
        for (int i = 0; i < specialTokens.size(); i++) {
            bytes[BYTE_TOKENS + i] = specialTokens.get(i) == null ? new byte[0] : specialTokens.get(i).getBytes(StandardCharsets.UTF_8);
        }
        return bytes;
    }

    private static Map<String, Integer> specialIds(List<String> specialTokens) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < specialTokens.size(); i++) {
            if (ids.putIfAbsent(specialTokens.get(i), BYTE_TOKENS + i) != null) {
                throw new IllegalArgumentException("specialTokens contains \"" + specialTokens.get(i) + "\" twice");
            }
        }
        return ids;
    }

    @Override
    void encodeOrdinary(String segment, IntStream.Builder out) {
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            out.add(b & 0xFF);
        }
    }
}
