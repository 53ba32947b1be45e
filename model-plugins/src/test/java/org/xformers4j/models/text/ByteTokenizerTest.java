package org.xformers4j.models.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

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
}
