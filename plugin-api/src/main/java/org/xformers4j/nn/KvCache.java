package org.xformers4j.nn;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * What one attention layer keeps of the positions it has already seen, for incremental decoding:
 * each step projects only the new tokens and attends over the past through the cache, instead of
 * recomputing every position. The cache holds one of two things, decided by the layer's mechanism
 * at the first step:
 * <ul>
 *   <li><b>Keys and values</b> of every earlier position, as in the Transformer decoders of Vaswani
 *       et al., 2017, and Shazeer, 2019, "Fast Transformer Decoding: One Write-Head is All You
 *       Need": [batch, keyValueHeads, length, headDim], keys after the rotation of the positional
 *       encoding at their absolute positions, so cached keys never need rotating again. The cache
 *       grows by one key and one value per position.</li>
 *   <li><b>A recurrent state</b>, for a mechanism that implements {@link RecurrentAttention}
 *       (kernel attention as an RNN, Katharopoulos et al., 2020, "Transformers are RNNs", §3.4):
 *       tensors [batch, ...] whose size does not depend on the number of positions, such as
 *       Σφ(k)vᵀ and Σφ(k), O(F·Dv) per head. A padded key was left out of the state when it was
 *       added; the cache counts them per row (O(batch)), so that a later step's key padding mask,
 *       which spans the cached positions too, can be checked against them. A state whose tensors
 *       change shape from one step to the next is refused: it would grow with the sequence.</li>
 * </ul>
 * Either way the cache is detached: no gradient flows into earlier steps through it. A model keeps
 * one cache per attention layer; {@link MultiHeadAttention#selfAttentionStep} fills it, or for a
 * cross-attention layer {@link MultiHeadAttention#crossAttentionStep}. A new cache is empty; its
 * batch size and layout are fixed by the first step and changed only by {@link #reorder}.
 */
public final class KvCache {

    private Tensor keys;
    private Tensor values;
    private List<Tensor> state;
    private int stateLength;
    /** [batch]: the keys of each row the recurrent state left out as padded. */
    private int[] paddedKeys;

    /** An empty cache. */
    public KvCache() {
    }

    /** Number of cached positions, 0 when empty; the position of the next token. */
    public int length() {
        return state != null ? stateLength : keys == null ? 0 : keys.size(2);
    }

    /** Cached keys [batch, keyValueHeads, length, headDim], or null when empty or holding a recurrent state. */
    public Tensor keys() {
        return keys;
    }

    /** Cached values [batch, keyValueHeads, length, headDim], or null when empty or holding a recurrent state. */
    public Tensor values() {
        return values;
    }

    /**
     * The recurrent state after {@link #length()} positions, each tensor [batch, ...] and detached,
     * or null when the cache is empty or holds keys and values.
     */
    public List<Tensor> state() {
        return state;
    }

    /** Bytes of the tensors held: the keys and values, or the recurrent state. */
    public long bytes() {
        List<Tensor> held = state != null ? state : keys == null ? List.of() : List.of(keys, values);
        return held.stream().mapToLong(t -> (long) t.numel() * Float.BYTES).sum();
    }

    /**
     * Rebuilds the batch for beam search: row i of the new cache is row {@code origins[i]} of the
     * current one (rows may repeat or be dropped, so the batch size becomes {@code origins.length}),
     * for keys and values or every tensor of the recurrent state alike. An empty cache has no rows
     * and stays empty; origins that keep every row in place (greedy decoding's) copy nothing.
     */
    public void reorder(int[] origins) {
        if (keys == null && state == null) {
            return;
        }
        int batch = state != null ? paddedKeys.length : keys.size(0);
        for (int i = 0; i < origins.length; i++) {
            if (origins[i] < 0 || origins[i] >= batch) {
                throw new IllegalArgumentException("KvCache.reorder: origins[" + i + "] = " + origins[i]
                        + " is not a row of the cached batch of " + batch);
            }
        }
        if (keepsEveryRow(origins, batch)) {
            return;
        }
        if (state != null) {
            state = state.stream().map(t -> t.indexSelect(0, origins)).toList();
            paddedKeys = Arrays.stream(origins).map(o -> paddedKeys[o]).toArray();
        } else {
            keys = keys.indexSelect(0, origins);
            values = values.indexSelect(0, origins);
        }
    }

    /** Whether {@code origins} keeps each of {@code batch} rows in its place: a reorder that changes nothing. */
    public static boolean keepsEveryRow(int[] origins, int batch) {
        if (origins.length != batch) {
            return false;
        }
        for (int i = 0; i < batch; i++) {
            if (origins[i] != i) {
                return false;
            }
        }
        return true;
    }

    /**
     * Appends the keys and values of new positions, [batch, keyValueHeads, newLength, headDim],
     * and returns {past + new keys, past + new values} for this step's attention. The returned
     * tensors carry the gradient of the new part; the cache keeps them detached.
     */
    Tensor[] append(Tensor newKeys, Tensor newValues) {
        requireNoState("keys and values");
        Tensor allKeys = newKeys;
        Tensor allValues = newValues;
        if (keys != null) {
            checkContinues("keys", keys.shape(), newKeys.shape());
            checkContinues("values", values.shape(), newValues.shape());
            allKeys = Tensor.concat(2, keys, newKeys);
            allValues = Tensor.concat(2, values, newValues);
        }
        keys = allKeys.detach();
        values = allValues.detach();
        return new Tensor[] {allKeys, allValues};
    }

    /**
     * The key padding mask of a recurrent step over the new positions: checks that {@code mask}
     * [batch, length() + newLength] (or null, for no padded key) marks as many cached positions of
     * each row as the state left out, and returns its columns of the new positions [batch,
     * newLength], or null when no key is padded. Checks too that the step continues the cached
     * batch.
     */
    Tensor newKeyPaddingMask(Tensor mask, int batch, int newLength) {
        requireNoKeysAndValues();
        if (state != null && batch != paddedKeys.length) {
            throw new IllegalArgumentException("KvCache: a step of batch " + batch + " does not continue the cached "
                    + "recurrent state of batch " + paddedKeys.length + "; was the cache filled by another layer, or "
                    + "not reordered after the batch changed?");
        }
        int past = length();
        float[] padded = mask == null ? null : mask.toFloatArray();
        for (int b = 0; b < batch; b++) {
            int before = 0;
            for (int j = 0; padded != null && j < past; j++) {
                before += padded[b * (past + newLength) + j] != 0f ? 1 : 0;
            }
            int expected = state == null ? 0 : paddedKeys[b];
            if (before != expected) {
                throw new IllegalArgumentException("KvCache: the key padding mask marks " + before + " of the " + past
                        + " cached positions of row " + b + " as padded, but the recurrent state left out " + expected
                        + " padded keys of that row when they were added (a key cannot be padded or unpadded after "
                        + "it entered the state); pass the mask over the cached positions as it was given then");
            }
        }
        return mask == null ? null : mask.narrow(1, past, newLength);
    }

    /**
     * Keeps {@code next}, the state after {@code newLength} more positions whose padded keys
     * {@code newMask} [batch, newLength] marks (or null), detached.
     */
    void advance(List<Tensor> next, int newLength, Tensor newMask) {
        requireNoKeysAndValues();
        int batch = next.get(0).size(0);
        int[] counts = state == null ? new int[batch] : paddedKeys.clone();
        if (newMask != null) {
            float[] padded = newMask.toFloatArray();
            for (int e = 0; e < padded.length; e++) {
                counts[e / newLength] += padded[e] != 0f ? 1 : 0;
            }
        }
        if (state != null) {
            for (int i = 0; i < next.size(); i++) {
                checkContinues("state tensor " + i, state.get(i).shape(), next.get(i).shape());
            }
        }
        state = next.stream().map(Tensor::detach).toList();
        stateLength += newLength;
        paddedKeys = counts;
    }

    private void requireNoState(String what) {
        if (state != null) {
            throw new IllegalArgumentException("KvCache: holds the recurrent state of " + stateLength + " positions, "
                    + "not " + what + "; was the cache filled by another layer?");
        }
    }

    private void requireNoKeysAndValues() {
        if (keys != null) {
            throw new IllegalArgumentException("KvCache: holds the keys and values of " + length() + " positions, not "
                    + "a recurrent state; was the cache filled by another layer?");
        }
    }

    /** {@code added} must have the rank and shape of {@code cached}, except along dimension 2 for keys and values. */
    private void checkContinues(String what, int[] cached, int[] added) {
        boolean continues = added.length == cached.length;
        for (int d = 0; continues && d < added.length; d++) {
            continues = added[d] == cached[d] || d == 2 && state == null;
        }
        if (!continues) {
            throw new IllegalArgumentException("KvCache: new " + what + " " + Arrays.toString(added) + " do not continue "
                    + "the cached " + what + " " + Arrays.toString(cached) + (state == null ? " (batch, heads and last "
                    + "dimension must match); was the cache filled by another layer, or not reordered after the batch "
                    + "changed?" : " (a recurrent state keeps the shape of every tensor from step to step, whatever the "
                    + "number of positions)"));
        }
    }

    @Override
    public String toString() {
        return state != null ? "KvCache(recurrent state of " + stateLength + " positions, " + bytes() + " bytes)"
                : keys == null ? "KvCache(empty)" : "KvCache(keys " + Arrays.toString(keys.shape()) + ")";
    }
}
