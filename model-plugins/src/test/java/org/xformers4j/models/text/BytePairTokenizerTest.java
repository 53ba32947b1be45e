package org.xformers4j.models.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BytePairTokenizerTest {

    /** The opening paragraph of Moby-Dick (Herman Melville, 1851; public domain). */
    private static final String MOBY_DICK = "Call me Ishmael. Some years ago—never mind how long precisely—having "
            + "little or no money in my purse, and nothing particular to interest me on shore, I thought I would "
            + "sail about a little and see the watery part of the world. It is a way I have of driving off the "
            + "spleen and regulating the circulation. Whenever I find myself growing grim about the mouth; whenever "
            + "it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing before coffin "
            + "warehouses, and bringing up the rear of every funeral I meet; and especially whenever my hypos get "
            + "such an upper hand of me, that it requires a strong moral principle to prevent me from deliberately "
            + "stepping into the street, and methodically knocking people's hats off—then, I account it high time "
            + "to get to sea as soon as I can. This is my substitute for pistol and ball. With a philosophical "
            + "flourish Cato throws himself upon his sword; I quietly take to the ship. There is nothing surprising "
            + "in this. If they but knew it, almost all men in their degree, some time or other, cherish very nearly "
            + "the same feelings towards the ocean with me.";

    private static final List<String> SPECIALS = List.of("<|endoftext|>");

    @Test
    void reachesExactlyTheTargetVocabularySize() {
        BytePairTokenizer tokenizer = BytePairTokenizer.train(MOBY_DICK, 400, SPECIALS);
        assertThat(tokenizer.vocabularySize()).isEqualTo(400);
        assertThat(tokenizer.tokenId("<|endoftext|>")).isEqualTo(OptionalInt.of(399));
        assertThat(tokenizer.merges()).hasSize(400 - 256 - 1);
    }

    @Test
    void reportsFewerTokensWhenTheTextRunsOut() {
        // "ab ab ab": pre-tokens "ab", " ab", " ab" → merges (a,b) then (' ',ab): nothing else to merge.
        BytePairTokenizer tokenizer = BytePairTokenizer.train("ab ab ab", 1000, List.of());
        assertThat(tokenizer.vocabularySize()).isEqualTo(258);
        assertThat(tokenizer.merges()).containsExactly("a b", "Ġ ab");
    }

    @Test
    void rejectsATargetBelowTheBytesAndSpecials() {
        assertThatThrownBy(() -> BytePairTokenizer.train(MOBY_DICK, 256, SPECIALS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vocabularySize 256");
    }

    @ParameterizedTest
    @ValueSource(strings = {MOBY_DICK, "", "unseen: Zürich ζ 東京 🐋🐋 \t\r\n  x", "<|endoftext|>whale<|endoftext|> sea"})
    void roundTripsAnyTextWithoutUnknownTokens(String text) {
        BytePairTokenizer tokenizer = BytePairTokenizer.train(MOBY_DICK, 400, SPECIALS);
        int[] ids = tokenizer.encode(text);
        assertThat(Arrays.stream(ids)).allMatch(id -> id >= 0 && id < tokenizer.vocabularySize());
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void frequentWordsBecomeSingleTokensAndCompressTheText() {
        BytePairTokenizer tokenizer = BytePairTokenizer.train(MOBY_DICK, 400, SPECIALS);
        for (String word : List.of(" the", " and", " whenever", " me")) {
            assertThat(tokenizer.encode(word)).as(word).hasSize(1);
        }
        assertThat(tokenizer.encode(MOBY_DICK).length).isLessThan(MOBY_DICK.getBytes(StandardCharsets.UTF_8).length / 2);
    }

    @Test
    void specialTokensAreNeverSplit() {
        BytePairTokenizer tokenizer = BytePairTokenizer.train(MOBY_DICK + "<|endoftext|>" + MOBY_DICK, 400, SPECIALS);
        int eot = tokenizer.tokenId("<|endoftext|>").getAsInt();
        int[] ids = tokenizer.encode("sea<|endoftext|>sea");
        assertThat(ids).containsOnlyOnce(eot);
        assertThat(tokenizer.decode(new int[] {eot})).isEqualTo("<|endoftext|>");
        // The special token's characters were not learned from: no merge contains "<|".
        assertThat(tokenizer.merges()).noneMatch(merge -> merge.contains("<|") || merge.contains("|>"));
    }

    /**
     * The worked example of byte-pair encoding (Gage, 1994; Wikipedia's "Byte pair encoding"):
     * "aaabdaaabac" merges aa → Z, then ab → Y (ties with "aa a" at two occurrences, and "a" sorts
     * before "aa"), then ZY → X, leaving X d X a c.
     */
    @Test
    void learnsTheClassicMergesInOrder() {
        BytePairTokenizer tokenizer = BytePairTokenizer.train("aaabdaaabac", 259, List.of());
        assertThat(tokenizer.merges()).containsExactly("a a", "a b", "aa ab");
        int[] ids = tokenizer.encode("aaabdaaabac");
        assertThat(ids).containsExactly(258, 'd', 258, 'a', 'c');
        assertThat(tokenizer.decode(new int[] {256})).isEqualTo("aa");
        assertThat(tokenizer.decode(new int[] {257})).isEqualTo("ab");
        assertThat(tokenizer.decode(new int[] {258})).isEqualTo("aaab");
    }

    @Test
    void appliesMergesByRankNotLeftToRight(@TempDir Path dir) throws IOException {
        // Rank 0 merges "b c", rank 1 "a b": "abc" must become a + bc, although "a b" comes first in the text.
        write(dir, vocabWith("\"bc\": 256, \"ab\": 257"), "#version: 0.2\nb c\na b\n");
        BytePairTokenizer tokenizer = BytePairTokenizer.load(dir);
        assertThat(tokenizer.encode("abc")).containsExactly('a', 256);
        assertThat(tokenizer.encode("abd")).containsExactly(257, 'd');
        assertThat(tokenizer.specialTokens()).isEmpty();
    }

    @Test
    void saveAndLoadGiveIdenticalEncodings(@TempDir Path dir) throws IOException {
        BytePairTokenizer trained = BytePairTokenizer.train(MOBY_DICK, 400, SPECIALS);
        trained.save(dir);
        assertThat(Files.readAllLines(dir.resolve("merges.txt")).get(0)).isEqualTo("#version: 0.2");
        assertThat(Files.readString(dir.resolve("vocab.json"))).contains("\"Ġthe\"", "\"<|endoftext|>\" : 399");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("vocab.json", "merges.txt");
        }
        BytePairTokenizer loaded = BytePairTokenizer.load(dir);
        assertThat(loaded.vocabularySize()).isEqualTo(400);
        assertThat(loaded.merges()).isEqualTo(trained.merges());
        assertThat(loaded.specialTokens()).isEqualTo(trained.specialTokens());
        String text = MOBY_DICK + "<|endoftext|> unseen 東京 🐋";
        assertThat(loaded.encode(text)).isEqualTo(trained.encode(text));
        assertThat(loaded.decode(loaded.encode(text))).isEqualTo(text);
    }

    @Test
    void trainingIsDeterministic() {
        BytePairTokenizer first = BytePairTokenizer.train(List.of(MOBY_DICK, "the whale, the sea"), 380, SPECIALS);
        BytePairTokenizer second = BytePairTokenizer.train(List.of(MOBY_DICK, "the whale, the sea"), 380, SPECIALS);
        assertThat(second.merges()).isEqualTo(first.merges());
        assertThat(second.encode(MOBY_DICK)).isEqualTo(first.encode(MOBY_DICK));
    }

    @Test
    void rejectsMalformedMergesNamingFileAndLine(@TempDir Path dir) throws IOException {
        String vocab = vocabWith("\"ab\": 256");
        assertLoadFails(dir, vocab, "a b\n", "merges.txt line 1", "#version: 0.2");
        assertLoadFails(dir, vocab, "#version: 0.2\na b\nab\n", "merges.txt line 3", "two tokens");
        assertLoadFails(dir, vocab, "#version: 0.2\na b\na xy\n", "merges.txt line 3", "\"xy\" is not in vocab.json");
        assertLoadFails(dir, vocab, "#version: 0.2\na b\na c\n", "merges.txt line 3", "\"ac\" is not in vocab.json");
        assertLoadFails(dir, vocab, "#version: 0.2\na b\n\na b\n", "merges.txt line 4", "repeated");
        assertLoadFails(dir, vocabWith("\"abc\": 256, \"bc\": 257"), "#version: 0.2\na bc\n", "merges.txt line 2",
                "\"bc\" is neither a byte nor the result of an earlier merge");
    }

    @Test
    void rejectsMalformedVocabNamingFileAndLine(@TempDir Path dir) throws IOException {
        String merges = "#version: 0.2\n";
        assertLoadFails(dir, "{\n\"a\": 0,\n\"b\": \"one\"\n}", merges, "vocab.json line 3", "not an integer");
        assertLoadFails(dir, "{\n\"a\": 0,\n\"b\" 1\n}", merges, "vocab.json line 3", "");
        assertLoadFails(dir, "{\"a\": 0, \"b\": 5}", merges, "vocab.json", "within [0, 2)");
        assertLoadFails(dir, "{\"a\": 0, \"b\": 1}", merges, "vocab.json", "no token for byte 0");
    }

    @Test
    void aMissingFileOrBytesThatAreNotUtf8AreNamedWithWhatIsWrong(@TempDir Path dir) throws IOException {
        BytePairTokenizer.train(MOBY_DICK, 300, SPECIALS).save(dir);
        Path merges = dir.resolve("merges.txt");
        byte[] good = Files.readAllBytes(merges);
        byte[] latin1 = "#version: 0.2\nth é\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(merges, latin1);
        assertThatThrownBy(() -> BytePairTokenizer.load(dir)).isInstanceOf(IOException.class)
                .hasMessage(merges + " is not UTF-8 text: byte 0xE9 at offset 17 (line 2, byte 4 of the line) is not "
                        + "part of a valid UTF-8 character; save the file as UTF-8");

        Files.write(merges, good);
        Files.delete(dir.resolve("vocab.json"));
        assertThatThrownBy(() -> BytePairTokenizer.load(dir)).isInstanceOf(IOException.class)
                .hasMessage(dir + ": no vocab.json in it; a byte-pair tokenizer needs vocab.json and merges.txt");
    }

    @Test
    void anIdTooLargeForAnIntIsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        assertLoadFails(dir, "{\n\"a\": 99999999999\n}", "#version: 0.2\n", "vocab.json line 2", "");
    }

    private static void assertLoadFails(Path dir, String vocab, String merges, String where, String what) throws IOException {
        write(dir, vocab, merges);
        assertThatThrownBy(() -> BytePairTokenizer.load(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(where).hasMessageContaining(what);
    }

    /** A vocab.json with the 256 byte tokens (ids = byte values) and the given extra entries. */
    private static String vocabWith(String extra) throws IOException {
        BytePairTokenizer bytesOnly = BytePairTokenizer.train("", 256, List.of());
        Path dir = Files.createTempDirectory("vocab");
        try {
            bytesOnly.save(dir);
            String json = Files.readString(dir.resolve("vocab.json")).strip();
            return json.substring(0, json.length() - 1) + ", " + extra + "}";
        } finally {
            Files.deleteIfExists(dir.resolve("vocab.json"));
            Files.deleteIfExists(dir.resolve("merges.txt"));
            Files.delete(dir);
        }
    }

    private static void write(Path dir, String vocab, String merges) throws IOException {
        Files.writeString(dir.resolve("vocab.json"), vocab);
        Files.writeString(dir.resolve("merges.txt"), merges);
    }
}
