package org.xformers4j.models.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.xformers4j.io.AtomicFiles;

/**
 * A byte-level byte-pair-encoding (BPE) tokenizer, as in GPT-2.
 * <p>
 * BPE (Sennrich et al., 2016) starts from single symbols and repeatedly merges the most frequent
 * adjacent pair into a new symbol; encoding replays the learned merges in the order they were
 * learned (their rank). Byte-level BPE (Radford et al., 2019) starts from the 256 byte values of
 * the UTF-8 text, so any text is encodable and there is no unknown token.
 * <p>
 * Text is first cut at special tokens, which are never split, and then pre-tokenised with GPT-2's
 * pattern ({@link #PRE_TOKENIZER}): contractions, runs of letters, runs of digits, runs of other
 * characters, each optionally preceded by one space, and runs of whitespace. A space therefore
 * stays attached to the following word ({@code " whale"}), and merges never cross pre-tokens.
 * <p>
 * Training ({@link #train(Iterable, int, List)}) breaks ties between equally frequent pairs
 * deterministically: the pair whose left token's bytes come first (unsigned lexicographic order),
 * then the right token's bytes, wins. Training stops when the vocabulary (256 bytes + merged
 * tokens + special tokens) reaches the target size, or earlier when no pair is left to merge, in
 * which case {@link #vocabularySize()} reports the smaller size reached.
 * <p>
 * {@link #save(Path)} writes the Hugging Face / GPT-2 files: {@code vocab.json} maps each token's
 * printable string to its id, where each byte is written as a printable character by GPT-2's
 * byte-to-unicode table, and {@code merges.txt} has the header {@code #version: 0.2} and one merge
 * per line, the two tokens' printable strings separated by a space, in rank order. On
 * {@link #load(Path)}, the vocabulary entries that are neither single bytes nor the result of a
 * merge are the special tokens (GPT-2's {@code <|endoftext|>}).
 * <p>
 * References:
 * <ul>
 * <li>R. Sennrich, B. Haddow and A. Birch. "Neural Machine Translation of Rare Words with Subword
 * Units", ACL 2016.</li>
 * <li>A. Radford, J. Wu, R. Child, D. Luan, D. Amodei and I. Sutskever. "Language Models are
 * Unsupervised Multitask Learners", OpenAI, 2019.</li>
 * </ul>
 */
public final class BytePairTokenizer extends ByteLevelTokenizer {

    /** GPT-2's pre-tokenisation pattern (with Unicode whitespace, as Python's {@code \s}). */
    public static final Pattern PRE_TOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** The vocabulary file name. */
    public static final String VOCAB_FILE = "vocab.json";
    /** The merges file name. */
    public static final String MERGES_FILE = "merges.txt";
    /** The first line of the merges file. */
    public static final String MERGES_HEADER = "#version: 0.2";

    private static final int BYTES = 256;
    /** GPT-2's byte-to-unicode table: a printable character for each byte value. */
    private static final char[] BYTE_TO_CHAR = byteToChar();
    private static final Map<Character, Integer> CHAR_TO_BYTE = charToByte();
    private static final JsonFactory JSON = new JsonFactory();
    /** No pair left to merge (pair keys are non-negative). */
    private static final long NO_PAIR = -1;

    /** Merge ranks: pair key → rank. */
    private final Map<Long, Integer> ranks;
    /** Merge pairs (left id, right id) by rank. */
    private final long[] mergePairs;
    /** Merge results by rank. */
    private final int[] mergeResults;
    /** The id of each single-byte token. */
    private final int[] byteIds;

    private BytePairTokenizer(byte[][] tokenBytes, Map<String, Integer> specialIds, long[] mergePairs, int[] mergeResults) {
        super(tokenBytes, specialIds);
        this.mergePairs = mergePairs;
        this.mergeResults = mergeResults;
        this.ranks = new HashMap<>();
        for (int rank = 0; rank < mergePairs.length; rank++) {
            ranks.put(mergePairs[rank], rank);
        }
        this.byteIds = new int[BYTES];
        Arrays.fill(byteIds, -1);
        Set<Integer> specials = new HashSet<>(specialIds.values());
        for (int id = 0; id < tokenBytes.length; id++) {
            if (tokenBytes[id].length == 1 && !specials.contains(id)) {
                byteIds[tokenBytes[id][0] & 0xFF] = id;
            }
        }
    }

    // ------------------------------------------------------------------ training

    /**
     * Learns a tokenizer from one text.
     *
     * @param text The training text.
     * @param vocabularySize The target vocabulary size, special tokens included.
     * @param specialTokens Special tokens, given the last ids in this order.
     * @return The tokenizer.
     * @see #train(Iterable, int, List)
     */
    public static BytePairTokenizer train(String text, int vocabularySize, List<String> specialTokens) {
        return train(List.of(text), vocabularySize, specialTokens);
    }

    /**
     * Learns a tokenizer from texts: merges the most frequent adjacent pair of tokens within
     * pre-tokens, ties broken by the pairs' bytes, until the vocabulary reaches
     * {@code vocabularySize} or nothing is left to merge. Special tokens in the texts are not
     * learned from. Ids: the 256 bytes, then the merged tokens in the order learned, then the
     * special tokens.
     *
     * @param texts The training texts.
     * @param vocabularySize The target vocabulary size, special tokens included.
     * @param specialTokens Special tokens, given the last ids in this order.
     * @return The tokenizer.
     * @throws IllegalArgumentException If {@code vocabularySize} is below 256 plus the number of
     *     special tokens, or a special token is empty or repeated.
     */
    public static BytePairTokenizer train(Iterable<String> texts, int vocabularySize, List<String> specialTokens) {
        if (vocabularySize < BYTES + specialTokens.size()) {
            throw new IllegalArgumentException("vocabularySize " + vocabularySize + " is below the " + BYTES
                    + " byte tokens plus " + specialTokens.size() + " special tokens");
        }
        SpecialTokens splitter = new SpecialTokens(specialTokens);
        Map<String, Integer> wordCounts = new HashMap<>();
        for (String text : texts) {
            splitter.split(text, segment -> preTokenize(segment, word -> wordCounts.merge(word, 1, Integer::sum)), special -> { });
        }
        List<byte[]> tokens = new ArrayList<>();
        Map<String, Integer> tokenIds = new HashMap<>();  // key: the bytes as ISO-8859-1, a bijection
        for (int b = 0; b < BYTES; b++) {
            tokenIds.put(key(new byte[] {(byte) b}), tokens.size());
            tokens.add(new byte[] {(byte) b});
        }
        PairStatistics statistics = new PairStatistics(wordCounts);
        List<Long> pairs = new ArrayList<>();
        List<Integer> results = new ArrayList<>();
        while (tokens.size() + specialTokens.size() < vocabularySize) {
            long best = statistics.mostFrequent(tokens);
            if (best == NO_PAIR) {
                break;
            }
            byte[] merged = concat(tokens.get(left(best)), tokens.get(right(best)));
            int result = tokenIds.computeIfAbsent(key(merged), k -> {
                tokens.add(merged);
                return tokens.size() - 1;
            });
            statistics.merge(best, result);
            pairs.add(best);
            results.add(result);
        }
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (String special : specialTokens) {
            specialIds.put(special, tokens.size());
            tokens.add(special.getBytes(StandardCharsets.UTF_8));
        }
        return new BytePairTokenizer(tokens.toArray(new byte[0][]), specialIds,
                pairs.stream().mapToLong(Long::longValue).toArray(), results.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Pair counts over the distinct pre-tokens, updated incrementally as pairs are merged. */
    private static final class PairStatistics {
        private final int[][] words;
        private final int[] counts;
        private final Map<Long, Long> pairCounts = new HashMap<>();
        private final Map<Long, Set<Integer>> pairWords = new HashMap<>();

        PairStatistics(Map<String, Integer> wordCounts) {
            words = new int[wordCounts.size()][];
            counts = new int[wordCounts.size()];
            int w = 0;
            for (Map.Entry<String, Integer> entry : wordCounts.entrySet()) {
                byte[] bytes = entry.getKey().getBytes(StandardCharsets.UTF_8);
                words[w] = new int[bytes.length];
                for (int i = 0; i < bytes.length; i++) {
                    words[w][i] = bytes[i] & 0xFF;
                }
                counts[w] = entry.getValue();
                update(w, +1);
                w++;
            }
        }

        /** Adds ({@code sign = 1}) or removes ({@code -1}) the pairs of word {@code w}. */
        private void update(int w, int sign) {
            int[] word = words[w];
            for (int i = 0; i + 1 < word.length; i++) {
                long pair = pair(word[i], word[i + 1]);
                long count = pairCounts.merge(pair, (long) sign * counts[w], Long::sum);
                if (count == 0) {
                    pairCounts.remove(pair);
                }
                if (sign > 0) {
                    pairWords.computeIfAbsent(pair, p -> new HashSet<>()).add(w);
                }
            }
        }

        /** The most frequent pair, ties broken by the tokens' bytes; {@link #NO_PAIR} if none. */
        long mostFrequent(List<byte[]> tokens) {
            long best = NO_PAIR;
            long bestCount = 0;
            for (Map.Entry<Long, Long> entry : pairCounts.entrySet()) {
                long pair = entry.getKey();
                long count = entry.getValue();
                if (count > bestCount || (count == bestCount && comparePairs(pair, best, tokens) < 0)) {
                    best = pair;
                    bestCount = count;
                }
            }
            return best;
        }

        /** Merges every occurrence of {@code pair} into {@code result} and updates the counts. */
        void merge(long pair, int result) {
            Set<Integer> affected = pairWords.remove(pair);
            for (int w : affected) {
                update(w, -1);
                words[w] = BytePairTokenizer.merge(words[w], left(pair), right(pair), result);
                update(w, +1);
            }
        }
    }

    private static int comparePairs(long a, long b, List<byte[]> tokens) {
        int byLeft = Arrays.compareUnsigned(tokens.get(left(a)), tokens.get(left(b)));
        return byLeft != 0 ? byLeft : Arrays.compareUnsigned(tokens.get(right(a)), tokens.get(right(b)));
    }

    // ------------------------------------------------------------------ encoding

    @Override
    void encodeOrdinary(String segment, IntStream.Builder out) {
        preTokenize(segment, word -> {
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                symbols[i] = byteIds[bytes[i] & 0xFF];
            }
            for (int id : applyMerges(symbols)) {
                out.add(id);
            }
        });
    }

    /** Applies the merges to a pre-token, lowest rank first, until none applies. */
    private int[] applyMerges(int[] symbols) {
        while (symbols.length > 1) {
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.length; i++) {
                Integer rank = ranks.get(pair(symbols[i], symbols[i + 1]));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                }
            }
            if (bestRank == Integer.MAX_VALUE) {
                break;
            }
            symbols = merge(symbols, left(mergePairs[bestRank]), right(mergePairs[bestRank]), mergeResults[bestRank]);
        }
        return symbols;
    }

    /** Replaces each occurrence of (left, right), scanning left to right, by {@code result}. */
    private static int[] merge(int[] symbols, int left, int right, int result) {
        int[] merged = new int[symbols.length];
        int n = 0;
        for (int i = 0; i < symbols.length; i++) {
            if (i + 1 < symbols.length && symbols[i] == left && symbols[i + 1] == right) {
                merged[n++] = result;
                i++;
            } else {
                merged[n++] = symbols[i];
            }
        }
        return Arrays.copyOf(merged, n);
    }

    private static void preTokenize(String segment, Consumer<String> words) {
        Matcher matcher = PRE_TOKENIZER.matcher(segment);
        while (matcher.find()) {
            words.accept(matcher.group());
        }
    }

    /**
     * The merges in rank order, each as the two tokens' printable strings (GPT-2's byte-to-unicode
     * table) separated by a space, as in {@code merges.txt}.
     *
     * @return The merges.
     */
    public List<String> merges() {
        List<String> lines = new ArrayList<>(mergePairs.length);
        for (long pair : mergePairs) {
            lines.add(printable(tokenBytes(left(pair))) + " " + printable(tokenBytes(right(pair))));
        }
        return lines;
    }

    /**
     * The printable form of token {@code id}, as {@value #VOCAB_FILE} writes it (GPT-2's
     * byte-to-unicode table: {@code "Ġthe"} for {@code " the"}); distinct ids give distinct strings.
     *
     * @param id A token id in {@code [0, vocabularySize())}.
     * @return The token's printable string.
     */
    public String token(int id) {
        return printable(tokenBytes(id));
    }

    // ------------------------------------------------------------------ files

    /**
     * Writes {@code vocab.json} and {@code merges.txt} into a directory, creating it if needed.
     * Each file is replaced atomically ({@link AtomicFiles}), so a reader never sees a half-written
     * file; a model directory that must keep the two consistent with other files records their
     * checksums (see {@link #files()}).
     *
     * @param dir The directory.
     * @throws IOException If writing fails.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> file : files().entrySet()) {
            AtomicFiles.write(dir.resolve(file.getKey()), file.getValue());
        }
    }

    /**
     * The files {@link #save} writes, by name: {@value #VOCAB_FILE} and {@value #MERGES_FILE},
     * as UTF-8 bytes.
     *
     * @return An ordered map of file name to content.
     */
    public Map<String, byte[]> files() {
        Map<Integer, String> specialById = new HashMap<>();
        specialTokens().forEach((token, id) -> specialById.put(id, token));
        StringWriter vocab = new StringWriter();
        try (JsonGenerator json = JSON.createGenerator(vocab)) {
            json.useDefaultPrettyPrinter();
            json.writeStartObject();
            for (int id = 0; id < vocabularySize(); id++) {
                json.writeNumberField(specialById.getOrDefault(id, printable(tokenBytes(id))), id);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory failed", e);
        }
        StringBuilder merges = new StringBuilder(MERGES_HEADER).append('\n');
        for (String merge : merges()) {
            merges.append(merge).append('\n');
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(VOCAB_FILE, vocab.toString().getBytes(StandardCharsets.UTF_8));
        files.put(MERGES_FILE, merges.toString().getBytes(StandardCharsets.UTF_8));
        return files;
    }

    /**
     * Reads a tokenizer saved by {@link #save(Path)} (or GPT-2's / Hugging Face's byte-level BPE
     * files). Validates that the ids are exactly {@code 0..n-1}, that every byte has a token, and
     * that each merge names two known tokens whose concatenation is a token.
     *
     * @param dir The directory holding {@code vocab.json} and {@code merges.txt}.
     * @return The tokenizer.
     * @throws IOException If a file is missing, cannot be read or is malformed; the message names
     *     the file and line.
     */
    public static BytePairTokenizer load(Path dir) throws IOException {
        return read(dir, readFile(dir, VOCAB_FILE), readFile(dir, MERGES_FILE));
    }

    /**
     * The bytes of the tokenizer file {@code name} ({@value #VOCAB_FILE} or {@value #MERGES_FILE})
     * in {@code dir}.
     *
     * @throws IOException If it is missing or unreadable, saying which file a tokenizer needs.
     */
    public static byte[] readFile(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) {
            throw new IOException(dir + ": no " + name + " in it; a byte-pair tokenizer needs " + VOCAB_FILE + " and "
                    + MERGES_FILE);
        }
        return Utf8.readBytes(file);
    }

    /**
     * The tokenizer of the contents of {@value #VOCAB_FILE} and {@value #MERGES_FILE}, read from
     * {@code dir}, checked as {@link #load} checks them.
     *
     * @throws IOException If a file is not UTF-8 or is malformed; the message names the file and line.
     */
    public static BytePairTokenizer read(Path dir, byte[] vocabBytes, byte[] mergesBytes) throws IOException {
        Path vocabFile = dir.resolve(VOCAB_FILE);
        Map<String, Integer> vocab = readVocab(vocabFile, Utf8.decode(vocabFile, vocabBytes));
        String[] byId = new String[vocab.size()];
        vocab.forEach((token, id) -> byId[id] = token);
        Path mergesFile = dir.resolve(MERGES_FILE);
        List<String> lines = Utf8.decode(mergesFile, mergesBytes).lines().toList();
        if (lines.isEmpty() || !lines.get(0).startsWith(MERGES_HEADER)) {
            throw malformed(mergesFile, 1, "expected the header \"" + MERGES_HEADER + "\"");
        }
        List<Long> pairs = new ArrayList<>();
        List<Integer> results = new ArrayList<>();
        Set<Long> seenPairs = new HashSet<>();
        Set<Integer> mergedIds = new HashSet<>();
        for (int line = 2; line <= lines.size(); line++) {
            String text = lines.get(line - 1);
            if (text.isBlank()) {
                continue;
            }
            String[] parts = text.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw malformed(mergesFile, line, "expected two tokens separated by one space, got \"" + text + "\"");
            }
            int left = knownToken(vocab, parts[0], mergesFile, line);
            int right = knownToken(vocab, parts[1], mergesFile, line);
            for (String part : parts) {
                if (!isByteToken(part) && !mergedIds.contains(vocab.get(part))) {
                    throw malformed(mergesFile, line, "\"" + part + "\" is neither a byte nor the result of an earlier merge");
                }
            }
            int result = knownToken(vocab, parts[0] + parts[1], mergesFile, line);
            if (!seenPairs.add(pair(left, right))) {
                throw malformed(mergesFile, line, "the merge \"" + text + "\" is repeated");
            }
            pairs.add(pair(left, right));
            results.add(result);
            mergedIds.add(result);
        }

        for (int b = 0; b < BYTES; b++) {
            if (!vocab.containsKey(String.valueOf(BYTE_TO_CHAR[b]))) {
                throw new IOException(vocabFile + ": no token for byte " + b + " (\"" + BYTE_TO_CHAR[b] + "\")");
            }
        }
        byte[][] tokenBytes = new byte[byId.length][];
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (int id = 0; id < byId.length; id++) {
            if (isByteToken(byId[id]) || mergedIds.contains(id)) {
                tokenBytes[id] = fromPrintable(byId[id]);
            } else {
                specialIds.put(byId[id], id);
                tokenBytes[id] = byId[id].getBytes(StandardCharsets.UTF_8);
            }
        }
        return new BytePairTokenizer(tokenBytes, specialIds,
                pairs.stream().mapToLong(Long::longValue).toArray(), results.stream().mapToInt(Integer::intValue).toArray());
    }

    private static boolean isByteToken(String token) {
        return token.length() == 1 && CHAR_TO_BYTE.containsKey(token.charAt(0));
    }

    private static Map<String, Integer> readVocab(Path file, String text) throws IOException {
        Map<String, Integer> vocab = new HashMap<>();
        try (JsonParser json = JSON.createParser(text)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw malformed(file, json.currentLocation().getLineNr(), "expected a JSON object of token → id");
            }
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String token = json.currentName();
                if (json.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                    throw malformed(file, json.currentLocation().getLineNr(), "the id of \"" + token + "\" is not an integer");
                }
                if (vocab.put(token, json.getIntValue()) != null) {
                    throw malformed(file, json.currentLocation().getLineNr(), "the token \"" + token + "\" is repeated");
                }
            }
            if (json.currentToken() != JsonToken.END_OBJECT) {
                throw malformed(file, json.currentLocation().getLineNr(), "expected a token or the end of the object");
            }
        } catch (JsonProcessingException e) {
            throw malformed(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(), e.getOriginalMessage());
        }
        boolean[] used = new boolean[vocab.size()];
        for (Map.Entry<String, Integer> entry : vocab.entrySet()) {
            int id = entry.getValue();
            if (id < 0 || id >= used.length || used[id]) {
                throw new IOException(file + ": token \"" + entry.getKey() + "\" has id " + id
                        + ", but the ids must be distinct and within [0, " + used.length + ")");
            }
            used[id] = true;
        }
        return vocab;
    }

    private static int knownToken(Map<String, Integer> vocab, String token, Path file, int line) throws IOException {
        Integer id = vocab.get(token);
        if (id == null) {
            throw malformed(file, line, "the token \"" + token + "\" is not in " + VOCAB_FILE);
        }
        return id;
    }

    private static IOException malformed(Path file, long line, String message) {
        return new IOException(file + " line " + line + ": " + message);
    }

    // ------------------------------------------------------------------ helpers

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int left(long pair) {
        return (int) (pair >>> 32);
    }

    private static int right(long pair) {
        return (int) pair;
    }

    private static String key(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static String printable(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    private static byte[] fromPrintable(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (int) CHAR_TO_BYTE.get(token.charAt(i));
        }
        return bytes;
    }

    /**
     * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes map to themselves, the others
     * (controls, space, soft hyphen…) to {@code U+0100} onwards in byte order.
     */
    private static char[] byteToChar() {
        char[] table = new char[BYTES];
        int next = BYTES;
        for (int b = 0; b < BYTES; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char) b : (char) next++;
        }
        return table;
    }

    private static Map<Character, Integer> charToByte() {
        Map<Character, Integer> map = new HashMap<>();
        for (int b = 0; b < BYTES; b++) {
            map.put(BYTE_TO_CHAR[b], b);
        }
        return map;
    }
}
