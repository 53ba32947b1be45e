package org.xformers4j.models.lm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.decoding.HiddenStateModel;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.models.nn.TransformerBlock;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.nn.KvCache;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Drives a {@link TransformerDecoder} for a decoding strategy: one generation session whose rows
 * (prompts, then hypotheses) grow by one token per {@link #advance}.
 *
 * <p>Rows of equal length run as one batch, a <em>group</em>: after {@link #start} the prompts of
 * each length form a group, and as every row grows by one token per step, the rows descending
 * from a group stay together (beams of one prompt always share a group). With caching, each group
 * keeps one {@link KvCache} per block (keys and values, or the recurrent state of a kernel
 * attention), reordered by the origins of its rows as beam search needs
 * ({@link KvCache#reorder}), and feeds only the new token; without, or for a decoder whose
 * mechanisms cannot decode incrementally, every step recomputes each group's whole sequences.
 * Both give the same logits to float32 rounding. For an encoder-decoder model every row carries
 * its prompt's encoder memory, reordered the same way; with caching, each block's cross-attention
 * keys and values of the memory are projected once, at the start, and reordered with the rows.
 *
 * <p>Context window. A model sees at most {@code window} tokens of each row, the context it was
 * trained on: a longer prompt is cut to its last {@code window} tokens (as nanoGPT's sampler
 * crops its input), and when a row outgrows the window its context restarts from its last
 * ¾·{@code window} tokens, at positions from 0, so the model keeps seeing sequences like those it
 * learned from instead of positions it never saw. With caching the restart recomputes that
 * context once and decoding goes on incrementally until the window is full again; without, every
 * step recomputes the current context. Both see the same tokens at the same positions. A window of
 * 0 never cuts.
 *
 * <p>The decoder is put in evaluation mode and no graph is recorded. The logits live on the
 * decoder's backend. The hidden states offered
 * to contrastive search ({@link HiddenStateModel}) are the decoder's final (normalised) states.
 * Not thread-safe: one session serves one generation.
 */
public final class DecoderSession implements HiddenStateModel {

    private final TransformerDecoder decoder;
    private final boolean cached;
    private final int window;
    private final TransformerBlock.Memory memory;
    private List<Group> groups = List.of();
    private int[] groupOfRow = new int[0];
    private int[] indexInGroup = new int[0];
    private float[][] lastStates;

    /**
     * The rows of one length: their tokens, the index of the first token the model sees (the same
     * for every row, as it follows from the length), the self-attention caches (or null), the memory
     * (or null) and the cross-attention caches of its projected keys and values (or null).
     */
    private record Group(int[][] tokens, int start, KvCache[] caches, TransformerBlock.Memory memory,
                         KvCache[] memoryCaches) {
    }

    /**
     * @param decoder the model
     * @param cached  decode with KV caches when the decoder's mechanisms allow it; false to recompute the
     *                prefix at every step (the reference the cached path is checked against)
     * @param memory  for an encoder-decoder model, the encoder's output with one row per prompt of the
     *                coming {@link #start}; null for a decoder-only model
     */
    public DecoderSession(TransformerDecoder decoder, boolean cached, TransformerBlock.Memory memory) {
        this(decoder, cached, memory, 0);
    }

    /**
     * A session whose model sees at most {@code window} tokens of each row (see the class comment).
     *
     * @param window the most tokens of a row the model sees, its training context length; 0 for no limit
     */
    public DecoderSession(TransformerDecoder decoder, boolean cached, TransformerBlock.Memory memory, int window) {
        if (decoder == null) {
            throw new IllegalArgumentException("DecoderSession: decoder must not be null");
        }
        if (decoder.config().crossAttention() != (memory != null)) {
            throw new IllegalArgumentException("DecoderSession: an encoder-decoder model needs the encoder's memory "
                    + "and a decoder-only model takes none");
        }
        if (window < 0) {
            throw new IllegalArgumentException("DecoderSession: window must be >= 0 (0 for no limit), got " + window);
        }
        this.decoder = decoder;
        this.cached = cached && decoder.cachesKeysAndValues();
        this.window = window;
        this.memory = memory;
        decoder.eval();
    }

    @Override
    public int vocabularySize() {
        return decoder.config().vocabularySize();
    }

    @Override
    public int hiddenSize() {
        return decoder.config().block().modelDim();
    }

    @Override
    public Tensor start(int[][] prompts) {
        if (prompts == null || prompts.length == 0) {
            throw new IllegalArgumentException("DecoderSession.start: prompts must not be empty");
        }
        if (memory != null && memory.states().size(0) != prompts.length) {
            throw new IllegalArgumentException("DecoderSession.start: " + prompts.length + " prompts for an encoder "
                    + "memory of " + memory.states().size(0) + " rows");
        }
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int r = 0; r < prompts.length; r++) {
            if (prompts[r] == null || prompts[r].length == 0) {
                throw new IllegalArgumentException("DecoderSession.start: prompt " + r + " is empty");
            }
            byLength.computeIfAbsent(prompts[r].length, k -> new ArrayList<>()).add(r);
        }
        int[][] members = byLength.values().stream()
                .map(rows -> rows.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        List<Group> started = new ArrayList<>();
        for (int[] rows : members) {
            int[][] tokens = Arrays.stream(rows).mapToObj(r -> prompts[r].clone()).toArray(int[][]::new);
            started.add(new Group(tokens, window == 0 ? 0 : Math.max(0, tokens[0].length - window),
                    cached ? decoder.newCaches() : null,
                    memory == null ? null : memory.reorder(rows),
                    cached && memory != null ? decoder.newCaches() : null));
        }
        return run(started, members, prompts.length, true);
    }

    @Override
    public Tensor advance(int[] tokens, int[] origins) {
        if (groups.isEmpty()) {
            throw new IllegalStateException("DecoderSession.advance before start");
        }
        if (tokens == null || origins == null || tokens.length != origins.length || tokens.length == 0) {
            throw new IllegalArgumentException("DecoderSession.advance: tokens and origins must be non-empty and of "
                    + "equal length, got " + (tokens == null ? null : tokens.length) + " and "
                    + (origins == null ? null : origins.length));
        }
        List<List<Integer>> newRows = new ArrayList<>();
        groups.forEach(g -> newRows.add(new ArrayList<>()));
        for (int i = 0; i < origins.length; i++) {
            if (origins[i] < 0 || origins[i] >= groupOfRow.length) {
                throw new IllegalArgumentException("DecoderSession.advance: origins[" + i + "] = " + origins[i]
                        + " is not a row of the previous step's " + groupOfRow.length);
            }
            newRows.get(groupOfRow[origins[i]]).add(i);
        }
        List<Group> next = new ArrayList<>();
        List<int[]> members = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            int[] rows = newRows.get(g).stream().mapToInt(Integer::intValue).toArray();
            if (rows.length == 0) {
                continue;
            }
            Group group = groups.get(g);
            int[] local = Arrays.stream(rows).map(i -> indexInGroup[origins[i]]).toArray();
            int[][] grown = new int[rows.length][];
            for (int k = 0; k < rows.length; k++) {
                int[] before = group.tokens()[local[k]];
                grown[k] = Arrays.copyOf(before, before.length + 1);
                grown[k][before.length] = tokens[rows[k]];
            }
            reorder(group.caches(), local);
            reorder(group.memoryCaches(), local);
            next.add(new Group(grown, group.start(), group.caches(),
                    group.memory() == null ? null : group.memory().reorder(local), group.memoryCaches()));
            members.add(rows);
        }
        return run(next, members.toArray(int[][]::new), tokens.length, false);
    }

    /**
     * Feeds every group (its last token with caches after a start, otherwise its whole sequences),
     * records the row layout and the hidden states, and returns the logits of the rows' last
     * positions in row order, [rows, vocabularySize].
     */
    private Tensor run(List<Group> next, int[][] members, int rows, boolean starting) {
        int vocabulary = vocabularySize();
        int width = hiddenSize();
        float[] logits = new float[rows * vocabulary];
        float[][] states = new float[rows][];
        int[] groupOf = new int[rows];
        int[] index = new int[rows];
        ComputeBackend backend = null;                                      // the decoder's
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (int g = 0; g < next.size(); g++) {
                Group group = next.get(g);
                int length = group.tokens()[0].length;
                if (window > 0 && length - group.start() > window) {             // restart the context
                    group = new Group(group.tokens(), length - Math.max(1, window * 3 / 4),
                            group.caches() == null ? null : decoder.newCaches(), group.memory(), group.memoryCaches());
                    next.set(g, group);
                }
                int start = group.start();
                boolean incremental = group.caches() != null && group.caches()[0].length() > 0;
                int[][] fed = Arrays.stream(group.tokens())
                        .map(t -> incremental ? new int[] {t[length - 1]} : Arrays.copyOfRange(t, start, length))
                        .toArray(int[][]::new);
                Tensor h = decoder.states(fed, incremental ? length - 1 - start : 0, group.caches(), group.memory(),
                        group.memoryCaches());
                backend = h.backend();
                int fedLength = h.size(1);
                Tensor last = h.narrow(1, fedLength - 1, 1);                          // [n, 1, D]
                float[] rowLogits = decoder.logits(last).toFloatArray();               // [n, 1, V]
                float[] hidden = h.toFloatArray();
                for (int k = 0; k < members[g].length; k++) {
                    int r = members[g][k];
                    groupOf[r] = g;
                    index[r] = k;
                    System.arraycopy(rowLogits, k * vocabulary, logits, r * vocabulary, vocabulary);
                    int fedHere = starting ? fedLength : 1;
                    int from = (k * fedLength + fedLength - fedHere) * width;
                    states[r] = Arrays.copyOfRange(hidden, from, from + fedHere * width);
                }
            }
        }
        this.groups = next;
        this.groupOfRow = groupOf;
        this.indexInGroup = index;
        this.lastStates = states;
        return Tensor.of(backend, logits, rows, vocabulary);
    }

    private static void reorder(KvCache[] caches, int[] origins) {
        if (caches != null) {
            for (KvCache cache : caches) {
                cache.reorder(origins);
            }
        }
    }

    @Override
    public float[][] lastHiddenStates() {
        if (lastStates == null) {
            throw new IllegalStateException("DecoderSession.lastHiddenStates before start");
        }
        return Arrays.stream(lastStates).map(float[]::clone).toArray(float[][]::new);
    }
}
