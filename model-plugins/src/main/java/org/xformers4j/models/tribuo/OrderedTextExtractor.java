package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.tribuo.impl.ArrayExample;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.Output;
import org.tribuo.data.text.TextFeatureExtractor;
import org.tribuo.util.tokens.Tokenizer;
import org.tribuo.util.tokens.impl.BreakIteratorTokenizer;

/**
 * A Tribuo {@link TextFeatureExtractor} that keeps the order of the tokens, so Tribuo's text data
 * sources ({@code SimpleTextDataSource}, {@code TextDataSource}s) can feed {@link TextTokens}.
 *
 * <p>The i-th token (from 0) becomes the feature {@code pos=000017:token=word} with value 1: the
 * position is zero-padded to six digits so that Tribuo's sort of features by name is the token
 * order. Texts are cut after {@value #MAX_POSITIONS} tokens.
 */
public final class OrderedTextExtractor<T extends Output<T>> implements TextFeatureExtractor<T> {

    /** Positions are written with six digits. */
    public static final int MAX_POSITIONS = 1_000_000;

    private static final String POSITION = "pos=";
    private static final String TOKEN = ":token=";

    @Config(description = "Splits the text into tokens.")
    private Tokenizer tokenizer = new BreakIteratorTokenizer(Locale.ROOT);

    @Config(description = "Whether tokens are lower-cased.")
    private boolean lowercase = true;

    /** For OLCUT. */
    private OrderedTextExtractor() {
    }

    /**
     * @param tokenizer splits the text
     * @param lowercase whether tokens are lower-cased
     */
    public OrderedTextExtractor(Tokenizer tokenizer, boolean lowercase) {
        this.tokenizer = tokenizer;
        this.lowercase = lowercase;
    }

    @Override
    public Example<T> extract(T output, String text) {
        List<String> tokens = tokenize(text);
        List<Feature> features = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            features.add(new Feature(featureName(i, tokens.get(i)), 1.0));
        }
        ArrayExample<T> example = new ArrayExample<>(output);
        example.addAll(features);
        return example;
    }

    /** The tokens of {@code text} in order, at most {@value #MAX_POSITIONS}. */
    List<String> tokenize(String text) {
        List<String> tokens;
        synchronized (tokenizer) { // Tribuo tokenizers are stateful
            tokens = tokenizer.split(text);
        }
        List<String> out = new ArrayList<>(Math.min(tokens.size(), MAX_POSITIONS));
        for (String token : tokens.subList(0, Math.min(tokens.size(), MAX_POSITIONS))) {
            out.add(lowercase ? token.toLowerCase(Locale.ROOT) : token);
        }
        return out;
    }

    /** The feature name of {@code token} at {@code position}: {@code pos=000017:token=word}. */
    public static String featureName(int position, String token) {
        if (position < 0 || position >= MAX_POSITIONS) {
            throw new IllegalArgumentException("OrderedTextExtractor: position " + position + " is outside [0, "
                    + MAX_POSITIONS + ")");
        }
        return String.format(Locale.ROOT, "%s%06d%s%s", POSITION, position, TOKEN, token);
    }

    /** The token a feature named by {@link #featureName} holds, or empty for any other feature name. */
    public static Optional<String> token(String featureName) {
        int tokenStart = POSITION.length() + 6;
        if (featureName.length() < tokenStart + TOKEN.length() || !featureName.startsWith(POSITION)
                || !featureName.startsWith(TOKEN, tokenStart)) {
            return Optional.empty();
        }
        return Optional.of(featureName.substring(tokenStart + TOKEN.length()));
    }

    /** The tokens of {@code example} in position order (Tribuo keeps features sorted by name). */
    public static List<String> tokens(Example<?> example) {
        List<String> out = new ArrayList<>(example.size());
        for (Feature f : example) {
            token(f.getName()).ifPresent(out::add);
        }
        return out;
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "TextFeatureExtractor");
    }

    @Override
    public String toString() {
        return "OrderedTextExtractor(tokenizer=" + tokenizer + ",lowercase=" + lowercase + ")";
    }
}
