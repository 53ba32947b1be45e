package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;
import org.xformers4j.nn.Embedding;
import org.xformers4j.tensor.Tensor;

/**
 * Ordered text tokens as learned embeddings, for examples that carry their text as metadata
 * ({@link OrderedTextExtractor}, or a text column read with {@code --text}). The configuration may
 * declare that column ({@code column}), so that {@code train} needs no {@code --text}.
 *
 * <p>The text is split by the configured {@code tokenizer} ({@link TextTokenizer}: {@code WORDS},
 * {@code CHARACTERS} or {@code BPE}), after lower-casing when {@code lowercase}. {@link #fit}
 * learns the BPE merges (for {@code BPE}, to {@code bpeVocabularySize} tokens), counts the training
 * tokens and keeps those seen at least {@code minCount} times, the {@code maxVocabulary} most
 * frequent (ties by token), as the vocabulary. Id 0 is padding, id 1 the unknown token (anything
 * outside the vocabulary), then the vocabulary. A batch becomes [B, T] ids with T the longest text
 * in the batch cut to {@code maxLength} tokens; shorter texts are padded, and the padding mask is 1
 * there. An empty text is one unknown token, so no row of the mask is all padding. The token order
 * comes from the text itself, so the dataset's feature map (a bag of words) plays no part here.
 */
public final class TextTokens implements InputEncoder {

    /** The id of padding. */
    public static final int PAD = 0;
    /** The id of a token outside the vocabulary. */
    public static final int UNKNOWN = 1;

    /** The prefix of the state entries, {@code token.<id>} → token. */
    private static final String TOKEN = "token.";
    /** The prefix of the tokenizer's state entries (the BPE files). */
    private static final String TOKENIZER = "tokenizer.";

    @Config(description = "The CSV column holding the text, which train reads as it reads the column of "
            + "--text (a --text naming another column is refused; Tribuo's LABEL##text lines have their own); "
            + "empty: none, name it with --text.")
    private String column = "";

    @Config(description = "How texts are split: WORDS (Tribuo's break-iterator tokenizer), CHARACTERS or BPE "
            + "(byte-level byte-pair encoding learned from the training texts).")
    private TextTokenizer tokenizer = TextTokenizer.WORDS;

    @Config(description = "Whether texts are lower-cased before they are split.")
    private boolean lowercase = true;

    @Config(description = "Tokens a BPE tokenizer learns, its 256 bytes included (tokenizer BPE only).")
    @Range(min = 256)
    private int bpeVocabularySize = 1000;

    @Config(description = "Longest token sequence read; longer texts are cut.")
    @Range(min = 1)
    private int maxLength = 256;

    @Config(description = "Fewest training occurrences for a token to enter the vocabulary.")
    @Range(min = 1)
    private int minCount = 1;

    @Config(description = "Most tokens in the vocabulary, besides padding and unknown.")
    @Range(min = 1)
    private int maxVocabulary = 30_000;

    /** For OLCUT. */
    private TextTokens() {
    }

    /**
     * Word tokens, lower-cased.
     *
     * @param maxLength     the longest sequence read
     * @param minCount      fewest occurrences for a vocabulary token
     * @param maxVocabulary most vocabulary tokens
     */
    public TextTokens(int maxLength, int minCount, int maxVocabulary) {
        this(TextTokenizer.WORDS, maxLength, minCount, maxVocabulary);
    }

    /**
     * Lower-cased tokens of {@code tokenizer} (a BPE one learns 1,000 tokens).
     *
     * @param tokenizer     how texts are split
     * @param maxLength     the longest sequence read
     * @param minCount      fewest occurrences for a vocabulary token
     * @param maxVocabulary most vocabulary tokens
     */
    public TextTokens(TextTokenizer tokenizer, int maxLength, int minCount, int maxVocabulary) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.minCount = minCount;
        this.maxVocabulary = maxVocabulary;
        postConfig();
    }

    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (!column.isEmpty() && column.isBlank()) {
            throw new IllegalArgumentException("TextTokens: column is blank; name the text column or leave it empty");
        }
    }

    /** The CSV column this encoder's configuration declares as the text column, if it declares one. */
    public Optional<String> column() {
        return column.isEmpty() ? Optional.empty() : Optional.of(column);
    }

    @Override
    public EncoderModule fit(ImmutableFeatureMap featureMap, List<? extends Example<?>> examples, int modelDim,
                             RandomGenerator rng) {
        List<String> texts = new ArrayList<>(examples.size());
        for (Example<?> example : examples) {
            texts.add(text(example));
        }
        TextTokenizer.Splitter splitter = tokenizer.fit(texts, bpeVocabularySize);
        Map<String, Integer> counts = new HashMap<>();
        for (String text : texts) {
            for (String token : splitter.split(text)) {
                counts.merge(token, 1, Integer::sum);
            }
        }
        List<Map.Entry<String, Integer>> kept = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (e.getValue() >= minCount) {
                kept.add(e);
            }
        }
        kept.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Integer> vocabulary = new HashMap<>();
        for (Map.Entry<String, Integer> e : kept.subList(0, Math.min(kept.size(), maxVocabulary))) {
            vocabulary.put(e.getKey(), vocabulary.size() + 2);
        }
        return new Module(this, splitter, vocabulary, modelDim, rng);
    }

    /**
     * Reads what the module's {@link EncoderModule#state} gave: the tokenizer's entries
     * {@code tokenizer.*} (for BPE its {@code vocab.json} and {@code merges.txt}), and one entry
     * {@code token.<id>} per vocabulary token, ids 2 to size + 1, tokens unique, at most
     * {@code maxVocabulary} of them.
     */
    @Override
    public EncoderModule restore(ImmutableFeatureMap featureMap, int modelDim, Map<String, String> state,
                                 RandomGenerator rng) {
        Map<String, String> tokens = new HashMap<>();
        Map<String, String> tokenizerState = new TreeMap<>();
        state.forEach((key, value) -> {
            if (key.startsWith(TOKENIZER)) {
                tokenizerState.put(key.substring(TOKENIZER.length()), value);
            } else {
                tokens.put(key, value);
            }
        });
        int size = tokens.size();
        if (size > maxVocabulary) {
            throw new IllegalArgumentException("TextTokens: the saved vocabulary has " + size + " tokens, maxVocabulary "
                    + "is " + maxVocabulary);
        }
        Map<String, Integer> vocabulary = new HashMap<>();
        for (Map.Entry<String, String> e : tokens.entrySet()) {
            int id = -1;
            if (e.getKey().startsWith(TOKEN)) {
                try {
                    id = Integer.parseInt(e.getKey().substring(TOKEN.length()));
                } catch (NumberFormatException ignored) {
                    // reported below
                }
            }
            if (id < 2 || id >= size + 2 || vocabulary.put(e.getValue(), id) != null) {
                throw new IllegalArgumentException("TextTokens: saved entry '" + e.getKey() + "' = '" + e.getValue()
                        + "' is not a token of id 2 to " + (size + 1) + " (entries " + TOKEN + "<id>, tokens unique)");
            }
        }
        return new Module(this, tokenizer.restore(tokenizerState), vocabulary, modelDim, rng);
    }

    /** The text {@code example} carries, lower-cased when so configured. */
    private String text(Example<?> example) {
        String text = OrderedTextExtractor.text(example).orElseThrow(() -> new IllegalArgumentException(
                "TextTokens: an example has no text (metadata '" + OrderedTextExtractor.TEXT + "'); text examples are "
                        + "made by OrderedTextExtractor, or read from the CSV column named by --text"));
        return lowercase ? text.toLowerCase(Locale.ROOT) : text;
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "InputEncoder");
    }

    @Override
    public String toString() {
        return "TextTokens(" + (column.isEmpty() ? "" : "column=" + column + ",") + "tokenizer=" + tokenizer + ",lowercase=" + lowercase + ",bpeVocabularySize="
                + bpeVocabularySize + ",maxLength=" + maxLength + ",minCount=" + minCount + ",maxVocabulary="
                + maxVocabulary + ")";
    }

    /** The fitted vocabulary and its embedding table. */
    static final class Module extends EncoderModule {

        private final TextTokens config;
        private final TextTokenizer.Splitter splitter;
        private final Map<String, Integer> vocabulary;
        private final int maxLength;
        private final Embedding embedding;

        Module(TextTokens config, TextTokenizer.Splitter splitter, Map<String, Integer> vocabulary, int modelDim,
               RandomGenerator rng) {
            this.config = config;
            this.splitter = splitter;
            this.vocabulary = Collections.unmodifiableMap(vocabulary);
            this.maxLength = config.maxLength;
            this.embedding = registerModule("embedding", new Embedding(vocabulary.size() + 2, modelDim, rng));
        }

        /** Token to id, without padding and unknown. */
        Map<String, Integer> vocabulary() {
            return vocabulary;
        }

        /** The tokens of {@code example}'s text, the first {@code maxLength}. */
        List<String> tokens(Example<?> example) {
            List<String> tokens = splitter.split(config.text(example));
            return tokens.subList(0, Math.min(tokens.size(), maxLength));
        }

        /** The ids of {@code batch}, [B, T] row-major, padded with {@link #PAD}; T is {@code ids.length / B}. */
        int[] ids(List<? extends Example<?>> batch) {
            List<List<String>> texts = new ArrayList<>(batch.size());
            int length = 1;
            for (Example<?> example : batch) {
                texts.add(tokens(example));
                length = Math.max(length, texts.get(texts.size() - 1).size());
            }
            int[] ids = new int[batch.size() * length];
            for (int b = 0; b < texts.size(); b++) {
                List<String> tokens = texts.get(b);
                ids[b * length] = UNKNOWN; // an empty text: one unknown token
                for (int t = 0; t < tokens.size(); t++) {
                    ids[b * length + t] = vocabulary.getOrDefault(tokens.get(t), UNKNOWN);
                }
            }
            return ids;
        }

        @Override
        public Tokens forward(List<? extends Example<?>> batch) {
            int[] ids = ids(batch);
            int length = ids.length / batch.size();
            float[] padding = new float[ids.length];
            for (int i = 0; i < ids.length; i++) {
                padding[i] = ids[i] == PAD ? 1f : 0f;
            }
            Tensor embedded = embedding.forward(ids, batch.size(), length);              // [B, T, D]
            return new Tokens(embedded, Tensor.of(embedded.backend(), padding, batch.size(), length)); // [B, T]
        }

        /** One entry per token read (the first {@code maxLength}), the token; an empty text is one token made of nothing. */
        @Override
        public List<List<String>> tokenFeatures(Example<?> example) {
            List<List<String>> out = new ArrayList<>();
            for (String token : tokens(example)) {
                out.add(List.of(token));
            }
            return out.isEmpty() ? List.of(List.of()) : out;
        }

        /** One entry {@code token.<id>} → token per token of the vocabulary, and the tokenizer's as {@code tokenizer.*}. */
        @Override
        public Map<String, String> state() {
            Map<String, String> out = new TreeMap<>();
            vocabulary.forEach((token, id) -> out.put(TOKEN + id, token));
            splitter.state().forEach((key, value) -> out.put(TOKENIZER + key, value));
            return out;
        }

        @Override
        public int maxTokens() {
            return maxLength;
        }

        @Override
        public int modelDim() {
            return embedding.embeddingDim();
        }
    }
}
