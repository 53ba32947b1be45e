package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.models.text.ByteTokenizer;

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
}
