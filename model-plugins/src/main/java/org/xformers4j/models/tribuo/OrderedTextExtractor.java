package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.Output;
import org.tribuo.data.columnar.ColumnarFeature;
import org.tribuo.data.text.TextFeatureExtractor;
import org.tribuo.data.text.TextPipeline;
import org.tribuo.impl.ArrayExample;
import org.tribuo.util.tokens.Tokenizer;
import org.tribuo.util.tokens.impl.BreakIteratorTokenizer;

/**
 * Text as Tribuo examples for {@link TextTokens}: the text itself, in order, travels in the
 * example's metadata, and the features are its bag of words.
 *
 * <p>Why: a Tribuo feature map holds feature names, and Tribuo keeps an example's features sorted
 * by name, one per name. Order therefore cannot live in the feature names without making every
 * (position, token) pair a feature of its own (a map of 49,600 features for 20,000 tokens), nor in
 * the values of a bag of words (a token that occurs twice is one feature). So the example carries
 * its text unchanged as the metadata value {@value #TEXT} (Tribuo's side channel of an
 * {@link Example}, which datasets, splits and predictions pass through untouched), and
 * {@link TextTokens} reads and tokenises it with the tokenizer its configuration chooses (words,
 * characters or BPE). The features are the words of the text ({@code tokenizer}, lower-cased when
 * {@code lowercase}), one feature {@code text@word} per distinct word with its count as value: the
 * feature map is the word vocabulary, which Tribuo's own models (a logistic regression) read as a
 * bag of words.
 *
 * <p>It is both a {@link TextFeatureExtractor}, for Tribuo's text data sources
 * ({@code SimpleTextDataSource}'s {@code LABEL##text} lines), and a {@link TextPipeline}, for a text
 * column of Tribuo's columnar loading ({@code TextFieldProcessor}, which names the features after
 * the column; the text reaches the metadata through an {@code IdentityExtractor} named {@value #TEXT}).
 */
public final class OrderedTextExtractor<T extends Output<T>> implements TextFeatureExtractor<T>, TextPipeline {

    /** The metadata key of an example's text, and the field name of the features {@link #extract} makes. */
    public static final String TEXT = "text";

    @Config(description = "Splits the text into the words of its bag of words.")
    private Tokenizer tokenizer = new BreakIteratorTokenizer(Locale.ROOT);

    @Config(description = "Whether words are lower-cased.")
    private boolean lowercase = true;

    /** For OLCUT. */
    private OrderedTextExtractor() {
    }

    /**
     * @param tokenizer splits the text into the words of the features
     * @param lowercase whether words are lower-cased
     */
    public OrderedTextExtractor(Tokenizer tokenizer, boolean lowercase) {
        this.tokenizer = tokenizer;
        this.lowercase = lowercase;
    }

    /** An example of {@code output} with the features {@code text@word} of {@code text} and the text as metadata. */
    @Override
    public Example<T> extract(T output, String text) {
        ArrayExample<T> example = new ArrayExample<>(output);
        for (Feature f : process(TEXT, text)) {
            example.add(new ColumnarFeature(TEXT, f.getName(), f.getValue()));
        }
        example.setMetadataValue(TEXT, text);
        return example;
    }

    /** The bag of words of {@code text}: one feature per distinct word, named by it, its count as value. */
    @Override
    public List<Feature> process(String tag, String text) {
        List<String> words;
        synchronized (tokenizer) { // Tribuo tokenizers keep state while they split
            words = tokenizer.split(text);
        }
        Map<String, Integer> counts = new TreeMap<>();
        for (String word : words) {
            counts.merge(lowercase ? word.toLowerCase(Locale.ROOT) : word, 1, Integer::sum);
        }
        List<Feature> features = new ArrayList<>(counts.size());
        counts.forEach((word, count) -> features.add(new Feature(word, count)));
        return features;
    }

    /** The text {@code example} carries as its metadata {@value #TEXT}, if it has one. */
    public static Optional<String> text(Example<?> example) {
        return example.getMetadataValue(TEXT).map(String::valueOf);
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
