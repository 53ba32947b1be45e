package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.xformers4j.component.decoding.HiddenStateModel;
import org.xformers4j.tensor.Tensor;

/**
 * The decoding suite's model: next-token probabilities from a fixed table keyed by the whole
 * sequence so far, logits = ln p. The table is the classic example of the Hugging Face blog post
 * "How to generate text" (von Platen, 2020): after "The", nice 0.5, dog 0.4, car 0.1; after
 * "The nice", woman 0.4, house 0.3, guy 0.3; after "The dog", has 0.9, runs 0.05, and 0.05. Any
 * other sequence is followed by {@code <eos>} with probability 1, so greedy decoding gives "The
 * nice woman <eos>" and beam search with two beams "The dog has <eos>".
 *
 * <p>It keeps each row's tokens from the origins passed to {@link #advance}, refuses with an
 * {@link IllegalArgumentException} an origin that is not a previous row, a token outside the
 * vocabulary or a call whose tokens and origins differ in number, and remembers every row it
 * gave logits for.
 *
 * <p>So that strategies that compare representations (contrastive search) run every check too, it
 * is a {@link HiddenStateModel} whose hidden state of a position depends on its token alone: a
 * fixed pseudo-random vector of {@value #HIDDEN_SIZE} values uniform in [−1, 1) per token id
 * (drawn from a {@link SplittableRandom} seeded with the id), like an embedding table without
 * context. A repeated token thus has cosine similarity 1 with its earlier occurrences.
 *
 * <p>A table may have a limited context, as a trained model has ({@link #NextTokenTable(int)}): it
 * then sees only the last {@code window} tokens of each row, keys its probabilities by them, and
 * after {@link #start} shows the hidden states of those tokens only, as a model that cuts a
 * longer prompt to its context does. A row thus gets the same logits as its last {@code window}
 * tokens would alone.
 */
final class NextTokenTable implements HiddenStateModel {

    static final List<String> VOCABULARY =
            List.of("The", "nice", "dog", "car", "woman", "house", "guy", "has", "runs", "and", "<eos>");
    static final int END = VOCABULARY.indexOf("<eos>");

    private static final Map<String, Map<String, Double>> TABLE = Map.of(
            "The", Map.of("nice", 0.5, "dog", 0.4, "car", 0.1),
            "The nice", Map.of("woman", 0.4, "house", 0.3, "guy", 0.3),
            "The dog", Map.of("has", 0.9, "runs", 0.05, "and", 0.05));

    static final int HIDDEN_SIZE = 4;

    private final int window;
    private List<int[]> rows = List.of();
    private float[][] lastHiddenStates;
    private final Set<List<Integer>> seen = new HashSet<>();

    /** A table that sees whole rows. */
    NextTokenTable() {
        this(0);
    }

    /** A table that sees only the last {@code window} tokens of each row; 0 for whole rows. */
    NextTokenTable(int window) {
        this.window = window;
    }

    /** Token ids of space-separated words. */
    static int[] ids(String words) {
        return Arrays.stream(words.split(" ")).mapToInt(VOCABULARY::indexOf).toArray();
    }

    static String words(int[] tokens) {
        return Arrays.stream(tokens).mapToObj(t -> t >= 0 && t < VOCABULARY.size() ? VOCABULARY.get(t) : "#" + t)
                .collect(Collectors.joining(" "));
    }

    /** The table's probability of {@code token} after {@code context}. */
    static double probability(int[] context, int token) {
        return TABLE.getOrDefault(words(context), Map.of("<eos>", 1.0)).getOrDefault(VOCABULARY.get(token), 0.0);
    }

    /** Whether the model gave logits after {@code row} (a prompt followed by generated tokens). */
    boolean gaveLogitsAfter(int[] row) {
        return seen.contains(Arrays.stream(row).boxed().toList());
    }

    @Override
    public int vocabularySize() {
        return VOCABULARY.size();
    }

    @Override
    public int hiddenSize() {
        return HIDDEN_SIZE;
    }

    @Override
    public float[][] lastHiddenStates() {
        if (lastHiddenStates == null) {
            throw new IllegalStateException("lastHiddenStates() before start()");
        }
        return Arrays.stream(lastHiddenStates).map(float[]::clone).toArray(float[][]::new);
    }

    /** The hidden states of {@code tokens}, [tokens.length, HIDDEN_SIZE] row-major: a fixed vector per token id. */
    private static float[] hiddenStates(int... tokens) {
        float[] states = new float[tokens.length * HIDDEN_SIZE];
        for (int i = 0; i < tokens.length; i++) {
            SplittableRandom random = new SplittableRandom(tokens[i]);
            for (int d = 0; d < HIDDEN_SIZE; d++) {
                states[i * HIDDEN_SIZE + d] = (float) random.nextDouble(-1, 1);
            }
        }
        return states;
    }

    @Override
    public Tensor start(int[][] prompts) {
        rows = Arrays.stream(prompts).map(int[]::clone).toList();
        lastHiddenStates = rows.stream().map(row -> hiddenStates(visible(row))).toArray(float[][]::new);
        return logitsOfRows();
    }

    @Override
    public Tensor advance(int[] tokens, int[] origins) {
        if (tokens.length != origins.length) {
            throw new IllegalArgumentException("advance: " + tokens.length + " tokens but " + origins.length
                    + " origins");
        }
        List<int[]> next = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            if (origins[i] < 0 || origins[i] >= rows.size()) {
                throw new IllegalArgumentException("advance: origin " + origins[i] + " of new row " + i
                        + " is not one of the " + rows.size() + " previous rows");
            }
            if (tokens[i] < 0 || tokens[i] >= vocabularySize()) {
                throw new IllegalArgumentException("advance: token " + tokens[i] + " of new row " + i
                        + " is outside the vocabulary of " + vocabularySize());
            }
            int[] previous = rows.get(origins[i]);
            int[] row = Arrays.copyOf(previous, previous.length + 1);
            row[previous.length] = tokens[i];
            next.add(row);
        }
        rows = next;
        lastHiddenStates = Arrays.stream(tokens).mapToObj(NextTokenTable::hiddenStates).toArray(float[][]::new);
        return logitsOfRows();
    }

    /** The tokens of {@code row} the table sees: its last {@code window} ones, or all of them. */
    private int[] visible(int[] row) {
        return window == 0 || row.length <= window ? row : Arrays.copyOfRange(row, row.length - window, row.length);
    }

    private Tensor logitsOfRows() {
        int v = vocabularySize();
        float[] logits = new float[rows.size() * v];
        for (int r = 0; r < rows.size(); r++) {
            int[] row = rows.get(r);
            seen.add(Arrays.stream(row).boxed().toList());
            int[] context = visible(row);
            for (int t = 0; t < v; t++) {
                logits[r * v + t] = (float) Math.log(probability(context, t));
            }
        }
        return Tensor.of(logits, rows.size(), v);
    }
}
