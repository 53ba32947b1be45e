package org.xformers4j.decoding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.xformers4j.component.decoding.DecodingModel;
import org.xformers4j.component.decoding.HiddenStateModel;
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
 *
 * <p>It is also a {@link HiddenStateModel}: the hidden state of a position is a function of the
 * sequence up to it (as words), by default a fixed pseudo-random vector of {@value #HIDDEN_SIZE}
 * values per last token (drawn from a {@link SplittableRandom} seeded with its id).
 */
final class TableLanguageModel implements HiddenStateModel {

    static final List<String> VOCABULARY =
            List.of("The", "nice", "dog", "car", "woman", "house", "guy", "has", "runs", "and", "<eos>");
    static final int EOS = VOCABULARY.indexOf("<eos>");

    private static final Map<String, Map<String, Double>> TABLE = Map.of(
            "The", Map.of("nice", 0.5, "dog", 0.4, "car", 0.1),
            "The nice", Map.of("woman", 0.4, "house", 0.3, "guy", 0.3),
            "The dog", Map.of("has", 0.9, "runs", 0.05, "and", 0.05));

    static final int HIDDEN_SIZE = 4;

    private final float shift;
    private final Function<String, Map<String, Double>> next;
    private final int hiddenSize;
    private final Function<String, float[]> hidden;
    private List<int[]> rows = List.of();
    private float[][] lastHiddenStates;
    private final List<List<String>> queried = new ArrayList<>();
    private final List<int[]> origins = new ArrayList<>();

    TableLanguageModel() {
        this(0f);
    }

    /** @param shift a constant added to every logit */
    TableLanguageModel(float shift) {
        this(shift, TableLanguageModel::nextWords);
    }

    /** The default table's next-word probabilities after {@code context} (space-separated words). */
    static Map<String, Double> nextWords(String context) {
        return TABLE.getOrDefault(context, Map.of("<eos>", 1.0));
    }

    /**
     * A model over the same vocabulary with another table: {@code next} gives the next-word
     * probabilities after a sequence (as space-separated words); words it leaves out get -infinity.
     */
    TableLanguageModel(Function<String, Map<String, Double>> next) {
        this(0f, next);
    }

    private TableLanguageModel(float shift, Function<String, Map<String, Double>> next) {
        this(shift, next, HIDDEN_SIZE, TableLanguageModel::tokenVector);
    }

    /**
     * A model with another table and other hidden states: {@code hidden} gives the hidden state of
     * the last position of a sequence (as space-separated words), {@code hiddenSize} values.
     */
    TableLanguageModel(Function<String, Map<String, Double>> next, int hiddenSize, Function<String, float[]> hidden) {
        this(0f, next, hiddenSize, hidden);
    }

    private TableLanguageModel(float shift, Function<String, Map<String, Double>> next, int hiddenSize,
                               Function<String, float[]> hidden) {
        this.shift = shift;
        this.next = next;
        this.hiddenSize = hiddenSize;
        this.hidden = hidden;
    }

    /** The default hidden state: a fixed pseudo-random vector per last word. */
    private static float[] tokenVector(String context) {
        SplittableRandom random = new SplittableRandom(id(context.substring(context.lastIndexOf(' ') + 1)));
        float[] state = new float[HIDDEN_SIZE];
        for (int d = 0; d < HIDDEN_SIZE; d++) {
            state[d] = (float) random.nextDouble(-1, 1);
        }
        return state;
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
    public int hiddenSize() {
        return hiddenSize;
    }

    @Override
    public float[][] lastHiddenStates() {
        if (lastHiddenStates == null) {
            throw new IllegalStateException("lastHiddenStates() before start()");
        }
        return Arrays.stream(lastHiddenStates).map(float[]::clone).toArray(float[][]::new);
    }

    @Override
    public Tensor start(int[][] prompts) {
        rows = Arrays.stream(prompts).map(int[]::clone).toList();
        lastHiddenStates = rows.stream().map(row -> hiddenStates(row, 1)).toArray(float[][]::new);
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
        lastHiddenStates = rows.stream().map(row -> hiddenStates(row, row.length)).toArray(float[][]::new);
        this.origins.add(origins.clone());
        return logitsOfRows();
    }

    /** The hidden states of the positions {@code from} (1-based prefix length) to the end of {@code row}, concatenated. */
    private float[] hiddenStates(int[] row, int from) {
        float[] states = new float[0];
        for (int length = from; length <= row.length; length++) {
            float[] state = hidden.apply(words(Arrays.copyOf(row, length)));
            states = Arrays.copyOf(states, states.length + state.length);
            System.arraycopy(state, 0, states, states.length - state.length, state.length);
        }
        return states;
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
