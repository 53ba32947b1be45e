package org.xformers4j.decoding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.tensor.Tensor;

/**
 * A {@link DecodingModel} whose next-token distribution is a fixed table keyed by the whole
 * sequence so far, with logits = ln p (+ an optional constant shift, which softmax ignores).
 * Sequences not in the table are followed by {@code <eos>} with probability 1. It keeps each row's
 * history from the origins passed to {@link #advance}, rejects invalid origins, and records every
 * sequence it was asked about, so tests can check that a strategy extends the right rows.
 *
 * <p>The table is the classic example of Hugging Face's generation blog post: after "The", nice
 * 0.5, dog 0.4, car 0.1; after "The nice", woman 0.4, house 0.3, guy 0.3; after "The dog", has
 * 0.9, runs 0.05, and 0.05.
 */
final class TableLanguageModel implements DecodingModel {

    static final List<String> VOCABULARY =
            List.of("The", "nice", "dog", "car", "woman", "house", "guy", "has", "runs", "and", "<eos>");
    static final int EOS = VOCABULARY.indexOf("<eos>");

    private static final Map<String, Map<String, Double>> TABLE = Map.of(
            "The", Map.of("nice", 0.5, "dog", 0.4, "car", 0.1),
            "The nice", Map.of("woman", 0.4, "house", 0.3, "guy", 0.3),
            "The dog", Map.of("has", 0.9, "runs", 0.05, "and", 0.05));

    private final float shift;
    private final Function<String, Map<String, Double>> next;
    private List<int[]> rows = List.of();
    private final List<List<String>> queried = new ArrayList<>();
    private final List<int[]> origins = new ArrayList<>();

    TableLanguageModel() {
        this(0f);
    }

    /** @param shift a constant added to every logit */
    TableLanguageModel(float shift) {
        this(shift, context -> TABLE.getOrDefault(context, Map.of("<eos>", 1.0)));
    }

    /**
     * A model over the same vocabulary with another table: {@code next} gives the next-word
     * probabilities after a sequence (as space-separated words); words it leaves out get -infinity.
     */
    TableLanguageModel(Function<String, Map<String, Double>> next) {
        this(0f, next);
    }

    private TableLanguageModel(float shift, Function<String, Map<String, Double>> next) {
        this.shift = shift;
        this.next = next;
    }

    /** Token ids of space-separated words. */
    static int[] ids(String words) {
        return Arrays.stream(words.split(" ")).mapToInt(TableLanguageModel::id).toArray();
    }

    static int id(String word) {
        int id = VOCABULARY.indexOf(word);
        if (id < 0) {
            throw new IllegalArgumentException("'" + word + "' is not in the vocabulary " + VOCABULARY);
        }
        return id;
    }

    static String words(int[] tokens) {
        return Arrays.stream(tokens).mapToObj(VOCABULARY::get).collect(Collectors.joining(" "));
    }

    @Override
    public int vocabularySize() {
        return VOCABULARY.size();
    }

    @Override
    public Tensor start(int[][] prompts) {
        rows = Arrays.stream(prompts).map(int[]::clone).toList();
        return logitsOfRows();
    }

    @Override
    public Tensor advance(int[] tokens, int[] origins) {
        if (tokens.length != origins.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + origins.length + " origins");
        }
        List<int[]> next = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            if (origins[i] < 0 || origins[i] >= rows.size()) {
                throw new IllegalArgumentException("origin " + origins[i] + " of new row " + i + " is not one of the "
                        + rows.size() + " previous rows");
            }
            if (tokens[i] < 0 || tokens[i] >= vocabularySize()) {
                throw new IllegalArgumentException("token " + tokens[i] + " of new row " + i + " is outside the vocabulary");
            }
            int[] previous = rows.get(origins[i]);
            int[] row = Arrays.copyOf(previous, previous.length + 1);
            row[previous.length] = tokens[i];
            next.add(row);
        }
        rows = next;
        this.origins.add(origins.clone());
        return logitsOfRows();
    }

    /** The sequences asked about, one list per call (start, then each advance), as words. */
    List<List<String>> queried() {
        return queried;
    }

    /** The origins of each advance call. */
    List<int[]> origins() {
        return origins;
    }

    private Tensor logitsOfRows() {
        int v = vocabularySize();
        float[] logits = new float[rows.size() * v];
        List<String> contexts = new ArrayList<>(rows.size());
        for (int r = 0; r < rows.size(); r++) {
            String context = words(rows.get(r));
            contexts.add(context);
            Map<String, Double> probabilities = next.apply(context);
            for (int t = 0; t < v; t++) {
                logits[r * v + t] = (float) Math.log(probabilities.getOrDefault(VOCABULARY.get(t), 0.0)) + shift;
            }
        }
        queried.add(contexts);
        return Tensor.of(logits, rows.size(), v);
    }
}
