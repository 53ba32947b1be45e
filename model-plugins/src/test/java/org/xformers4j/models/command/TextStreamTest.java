package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.models.text.Tokenizer;

/** {@link TextStream}: multi-byte characters split over byte tokens are printed whole, once. */
class TextStreamTest {

    @Test
    void printsEachCharacterOnceAndHoldsBackIncompleteUtf8() {
        ByteTokenizer tokenizer = new ByteTokenizer(List.of());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        TextStream stream = new TextStream(tokenizer, out);
        String text = "sea—“whale”";
        List<String> seen = new ArrayList<>();
        for (int token : tokenizer.encode(text)) {
            stream.onToken(0, token);
            seen.add(bytes.toString(StandardCharsets.UTF_8));
        }
        stream.finish();

        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(text);
        assertThat(seen).noneMatch(s -> s.contains("\uFFFD"));
        assertThat(seen.get(3)).isEqualTo("sea");               // the first byte of the em dash is held back
        assertThat(seen.get(5)).isEqualTo("sea—");
    }

    @Test
    void anInvalidByteAtTheEndIsPrintedByFinish() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TextStream stream = new TextStream(new ByteTokenizer(List.of()), new PrintStream(bytes, true,
                StandardCharsets.UTF_8));
        stream.onToken(0, 'a');
        stream.onToken(0, 0xE2);

        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("a");
        stream.finish();
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("a\uFFFD");
    }

    /** A byte tokenizer that counts the token ids it decodes, whichever way. */
    private static final class CountingTokenizer implements Tokenizer {
        private final ByteTokenizer bytes = new ByteTokenizer(List.of());
        int idsDecoded;

        @Override
        public int[] encode(String text) {
            return bytes.encode(text);
        }

        @Override
        public String decode(int[] ids) {
            idsDecoded += ids.length;
            return bytes.decode(ids);
        }

        @Override
        public IncrementalDecoder incrementalDecoder() {
            IncrementalDecoder decoder = bytes.incrementalDecoder();
            return new IncrementalDecoder() {
                @Override
                public String next(int id) {
                    idsDecoded++;
                    return decoder.next(id);
                }

                @Override
                public String finish() {
                    return decoder.finish();
                }
            };
        }

        @Override
        public int vocabularySize() {
            return bytes.vocabularySize();
        }

        @Override
        public OptionalInt tokenId(String specialToken) {
            return bytes.tokenId(specialToken);
        }
    }

    @Test
    void streamingDecodesEachTokenOnceWhateverTheLength() {
        CountingTokenizer tokenizer = new CountingTokenizer();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TextStream stream = new TextStream(tokenizer, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = "Call me Ishmael—“some years ago”. ".repeat(40);
        int[] tokens = tokenizer.encode(text);
        for (int token : tokens) {
            stream.onToken(0, token);
        }
        stream.finish();

        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(text);
        assertThat(tokenizer.idsDecoded).as("ids decoded for %d tokens", tokens.length).isEqualTo(tokens.length);
    }
}
