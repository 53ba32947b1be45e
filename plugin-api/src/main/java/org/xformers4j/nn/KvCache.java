package org.xformers4j.nn;

import java.util.Arrays;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

/**
 * The keys and values one self-attention layer has already computed, for incremental decoding:
 * each step projects only the new tokens and attends over the cached past plus them, instead of
 * recomputing every position (as in the Transformer decoders of Vaswani et al., 2017, and
 * Shazeer, 2019, "Fast Transformer Decoding: One Write-Head is All You Need").
 *
 * <p>Keys and values are held as [batch, keyValueHeads, length, headDim], keys after the rotation
 * of the positional encoding at their absolute positions, so cached keys never need rotating
 * again. They are detached: no gradient flows into earlier steps through the cache. A model keeps
 * one cache per attention layer; {@link MultiHeadAttention#forward(Tensor, AttentionContext, KvCache)}
 * fills it. A new cache is empty; its batch size and layout are fixed by the first step.
 */
public final class KvCache {

    private Tensor keys;
    private Tensor values;

    /** An empty cache. */
    public KvCache() {
    }

    /** Number of cached positions, 0 when empty; the position of the next token. */
    public int length() {
        return keys == null ? 0 : keys.size(2);
    }

    /** Cached keys [batch, keyValueHeads, length, headDim], or null when empty. */
    public Tensor keys() {
        return keys;
    }

    /** Cached values [batch, keyValueHeads, length, headDim], or null when empty. */
    public Tensor values() {
        return values;
    }

    /**
     * Rebuilds the batch for beam search: row i of the new cache is row {@code origins[i]} of the
     * current one (rows may repeat or be dropped, so the batch size becomes {@code origins.length}).
     * An empty cache has no rows and stays empty.
     */
    public void reorder(int[] origins) {
        if (keys == null) {
            return;
        }
        for (int i = 0; i < origins.length; i++) {
            if (origins[i] < 0 || origins[i] >= keys.size(0)) {
                throw new IllegalArgumentException("KvCache.reorder: origins[" + i + "] = " + origins[i]
                        + " is not a row of the cached batch of " + keys.size(0));
            }
        }
        keys = keys.indexSelect(0, origins);
        values = values.indexSelect(0, origins);
    }

    /**
     * Appends the keys and values of new positions, [batch, keyValueHeads, newLength, headDim],
     * and returns {past + new keys, past + new values} for this step's attention. The returned
     * tensors carry the gradient of the new part; the cache keeps them detached.
     */
    Tensor[] append(Tensor newKeys, Tensor newValues) {
        Tensor allKeys = newKeys;
        Tensor allValues = newValues;
        if (keys != null) {
            checkContinues("keys", keys, newKeys);
            checkContinues("values", values, newValues);
            allKeys = Tensor.concat(2, keys, newKeys);
            allValues = Tensor.concat(2, values, newValues);
        }
        keys = allKeys.detach();
        values = allValues.detach();
        return new Tensor[] {allKeys, allValues};
    }

    /** Batch, heads and the last dimension of {@code added} must be those of {@code cached}. */
    private static void checkContinues(String what, Tensor cached, Tensor added) {
        int[] c = cached.shape();
        int[] a = added.shape();
        if (a.length != 4 || a[0] != c[0] || a[1] != c[1] || a[3] != c[3]) {
            throw new IllegalArgumentException("KvCache: new " + what + " " + Arrays.toString(a) + " do not continue the "
                    + "cached " + what + " " + Arrays.toString(c) + " (batch, heads and last dimension must match); was "
                    + "the cache filled by another layer, or not reordered after the batch changed?");
        }
    }

    @Override
    public String toString() {
        return keys == null ? "KvCache(empty)" : "KvCache(keys " + Arrays.toString(keys.shape()) + ")";
    }
}
