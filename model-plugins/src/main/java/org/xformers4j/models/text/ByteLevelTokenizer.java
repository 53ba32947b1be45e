package org.xformers4j.models.text;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * The part shared by byte-level tokenizers: every token stands for a byte sequence, so decoding
 * concatenates the tokens' bytes and reads them as UTF-8. Byte sequences that are not valid UTF-8
 * (a prefix of a multi-byte character, for instance, when generation stops mid-character) decode
 * to the replacement character U+FFFD, as {@link String#String(byte[], java.nio.charset.Charset)}
 * does. Special tokens stand for their own UTF-8 bytes.
 */
abstract class ByteLevelTokenizer implements Tokenizer {

    private final byte[][] tokenBytes;
    private final Map<String, Integer> specialIds;
    private final SpecialTokens specialTokens;

    /**
     * @param tokenBytes The bytes of each id, special tokens included.
     * @param specialIds The special tokens and their ids, in id order.
     */
    ByteLevelTokenizer(byte[][] tokenBytes, Map<String, Integer> specialIds) {
        this.tokenBytes = tokenBytes;
        this.specialIds = Collections.unmodifiableMap(new LinkedHashMap<>(specialIds));
        this.specialTokens = new SpecialTokens(specialIds.keySet());
    }

    /**
     * Encodes a segment of text that contains no special token.
     *
     * @param segment The text segment, not empty.
     * @param out Receives the token ids.
     */
    abstract void encodeOrdinary(String segment, IntStream.Builder out);

    @Override
    public int[] encode(String text) {
        IntStream.Builder out = IntStream.builder();
        specialTokens.split(text, segment -> encodeOrdinary(segment, out), special -> out.add(specialIds.get(special)));
        return out.build().toArray();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            bytes.writeBytes(tokenBytes(id));
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Feeds each token's bytes to one UTF-8 decoder that keeps an incomplete character's bytes for the next. */
    @Override
    public IncrementalDecoder incrementalDecoder() {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        return new IncrementalDecoder() {
            /** Bytes fed but not yet decoded: at most the start of one character. */
            private ByteBuffer pending = ByteBuffer.allocate(0);

            @Override
            public String next(int id) {
                byte[] bytes = tokenBytes(id);
                ByteBuffer in = ByteBuffer.allocate(pending.remaining() + bytes.length).put(pending).put(bytes).flip();
                String text = decode(in, false);
                pending = in;
                return text;
            }

            @Override
            public String finish() {
                String text = decode(pending, true);
                CharBuffer rest = CharBuffer.allocate(4);
                utf8.flush(rest);
                utf8.reset();
                pending = ByteBuffer.allocate(0);
                return text + rest.flip();
            }

            private String decode(ByteBuffer in, boolean endOfInput) {
                CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
                utf8.decode(in, out, endOfInput);
                return out.flip().toString();
            }
        };
    }

    @Override
    public int vocabularySize() {
        return tokenBytes.length;
    }

    @Override
    public OptionalInt tokenId(String specialToken) {
        Integer id = specialIds.get(specialToken);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The special tokens and their ids.
     *
     * @return An unmodifiable map in id order.
     */
    public Map<String, Integer> specialTokens() {
        return specialIds;
    }

    /**
     * The bytes a token stands for.
     *
     * @param id The token id.
     * @return Its bytes (not a copy: callers must not modify it).
     * @throws IllegalArgumentException If the id is out of range.
     */
    final byte[] tokenBytes(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is outside [0, " + tokenBytes.length + ")");
        }
        return tokenBytes[id];
    }
}
