package org.xformers4j.models.tribuo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.tribuo.util.tokens.Tokenizer;
import org.tribuo.util.tokens.impl.BreakIteratorTokenizer;
import org.xformers4j.models.text.BytePairTokenizer;

/**
 * How {@link TextTokens} splits a text into the tokens it embeds, chosen in its configuration
 * ({@code <property name="tokenizer" value="BPE"/>}).
 */
public enum TextTokenizer {

    /** Words and punctuation marks, split by Tribuo's {@link BreakIteratorTokenizer} (Unicode word boundaries, {@link Locale#ROOT}). */
    WORDS,

    /** Characters: one token per Unicode code point, so no text has an unknown token of a known alphabet. */
    CHARACTERS,

    /**
     * Byte-level byte-pair encoding ({@link BytePairTokenizer}), learned from the training texts to
     * {@code vocabularySize} tokens; each token is named by its printable string ({@link BytePairTokenizer#token}).
     */
    BPE;

    // The constants have no bodies: OLCUT records an enum value's class in the model's provenance,
    // and a constant with a body is an anonymous class that the provenance could not be read back as.

    /**
     * The splitter of this kind for {@code texts}, the training texts (which only BPE learns from).
     *
     * @param vocabularySize the BPE vocabulary size, bytes included
     */
    Splitter fit(List<String> texts, int vocabularySize) {
        return switch (this) {
            case WORDS -> new Words();
            case CHARACTERS -> text -> text.codePoints().mapToObj(Character::toString).toList();
            case BPE -> new BytePairs(BytePairTokenizer.train(texts, vocabularySize, List.of()));
        };
    }

    /** The splitter whose {@link Splitter#state()} is {@code state} (read from a model file: untrusted). */
    Splitter restore(Map<String, String> state) {
        if (this != BPE) {
            if (!state.isEmpty()) {
                throw new IllegalArgumentException("TextTokens: a " + this + " tokenizer has no saved state, got "
                        + state.keySet());
            }
            return fit(List.of(), 0);
        }
        String vocab = state.get(BytePairs.VOCAB);
        String merges = state.get(BytePairs.MERGES);
        if (vocab == null || merges == null || state.size() != 2) {
            throw new IllegalArgumentException("TextTokens: a BPE tokenizer is saved as the entries "
                    + BytePairs.VOCAB + " and " + BytePairs.MERGES + ", got " + state.keySet());
        }
        try {
            return new BytePairs(BytePairTokenizer.read(Path.of("model"), vocab.getBytes(StandardCharsets.UTF_8),
                    merges.getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new IllegalArgumentException("TextTokens: the saved BPE tokenizer is malformed: " + e.getMessage(), e);
        }
    }

    /** A fitted tokenizer: text to tokens, and what it learned, to save with the model. */
    interface Splitter {

        /** The tokens of {@code text}, in order. */
        List<String> split(String text);

        /** What this splitter learned from the training texts, as text entries; none by default. */
        default Map<String, String> state() {
            return Map.of();
        }
    }

    /** Tribuo's break-iterator tokenizer, which keeps state while it splits: one split at a time. */
    private static final class Words implements Splitter {
        private final Tokenizer tokenizer = new BreakIteratorTokenizer(Locale.ROOT);

        @Override
        public synchronized List<String> split(String text) {
            return tokenizer.split(text);
        }
    }

    /** A trained byte-pair tokenizer, its tokens named by their printable strings. */
    private record BytePairs(BytePairTokenizer tokenizer) implements Splitter {
        static final String VOCAB = BytePairTokenizer.VOCAB_FILE;
        static final String MERGES = BytePairTokenizer.MERGES_FILE;

        @Override
        public List<String> split(String text) {
            int[] ids = tokenizer.encode(text);
            List<String> tokens = new ArrayList<>(ids.length);
            for (int id : ids) {
                tokens.add(tokenizer.token(id));
            }
            return tokens;
        }

        @Override
        public Map<String, String> state() {
            Map<String, String> out = new TreeMap<>();
            tokenizer.files().forEach((name, bytes) -> out.put(name, new String(bytes, StandardCharsets.UTF_8)));
            return out;
        }
    }
}
