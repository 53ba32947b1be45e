package org.xformers4j.models.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ByteTokenizerTest {

    private final ByteTokenizer tokenizer = new ByteTokenizer(List.of("<|endoftext|>", "<|pad|>"));

    @ParameterizedTest
    @ValueSource(strings = {"", "Call me Ishmael.", "café, naïve, Ærø", "whale 🐋 and 🇬🇧 flags", "tab\tnew\nline"})
    void roundTripsText(String text) {
        assertThat(tokenizer.decode(tokenizer.encode(text))).isEqualTo(text);
    }

    @Test
    void encodesUtf8Bytes() {
        assertThat(tokenizer.encode("Aé🐋")).containsExactly(0x41, 0xC3, 0xA9, 0xF0, 0x9F, 0x90, 0x8B);
        assertThat(tokenizer.vocabularySize()).isEqualTo(258);
    }

    @Test
    void specialTokensFollowTheBytesAndAreNeverSplit() {
        assertThat(tokenizer.tokenId("<|endoftext|>")).isEqualTo(OptionalInt.of(256));
        assertThat(tokenizer.tokenId("<|pad|>")).isEqualTo(OptionalInt.of(257));
        assertThat(tokenizer.tokenId("<|unknown|>")).isEmpty();
        int[] ids = tokenizer.encode("a<|endoftext|>b<|pad|>");
        assertThat(ids).containsExactly('a', 256, 'b', 257);
        assertThat(tokenizer.decode(ids)).isEqualTo("a<|endoftext|>b<|pad|>");
    }

    @Test
    void invalidUtf8DecodesToReplacementCharacters() {
        // The first two of the four bytes of 🐋, then 'a'.
        assertThat(tokenizer.decode(new int[] {0xF0, 0x9F, 'a'})).isEqualTo("\uFFFDa");
        assertThat(tokenizer.decode(new int[] {0xFF})).isEqualTo("\uFFFD");
    }

    @Test
    void rejectsOutOfRangeIdsAndBadSpecialTokens() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {258})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("258");
        assertThatThrownBy(() -> tokenizer.decode(new int[] {-1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> new ByteTokenizer(List.of("<s>", "<s>"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("<s>");
        assertThatThrownBy(() -> new ByteTokenizer(List.of(""))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("specialTokens");
    }

    /**
     * The incremental decoder's pieces concatenate to decode() of the whole stream, for random byte
     * streams full of broken UTF-8, and no piece but the last ends in a half character.
     */
    @Test
    void incrementalDecodingEqualsDecodingTheWholeStream() {
        ByteTokenizer tokenizer = new ByteTokenizer(List.of("<|endoftext|>"));
        SplittableRandom random = new SplittableRandom(4);
        int[] valid = tokenizer.encode("sea—“whale” 東京 🐋 <|endoftext|> end");
        for (int trial = 0; trial < 200; trial++) {
            int[] ids = trial % 2 == 0 ? random.ints(random.nextInt(1, 40), 0, tokenizer.vocabularySize()).toArray()
                    : Arrays.copyOf(valid, random.nextInt(1, valid.length + 1));
            Tokenizer.IncrementalDecoder decoder = tokenizer.incrementalDecoder();
            StringBuilder text = new StringBuilder();
            for (int id : ids) {
                String piece = decoder.next(id);
                assertThat(piece.isEmpty() || !Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isTrue();
                text.append(piece);
            }
            text.append(decoder.finish());
            assertThat(text.toString()).as(Arrays.toString(ids)).isEqualTo(tokenizer.decode(ids));
        }
    }
}
