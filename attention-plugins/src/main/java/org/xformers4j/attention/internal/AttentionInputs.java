package org.xformers4j.attention.internal;

import java.util.Arrays;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.Tensor;

/**
 * The input checks every attention mechanism makes before computing: shapes of the queries, keys
 * and values, of the key padding mask and of the bias, each failure an
 * {@link IllegalArgumentException} naming the mechanism and the offending shapes.
 */
public final class AttentionInputs {

    private AttentionInputs() {
    }

    /** Checks that q, k and v are all [batch, heads, length, headDim]. */
    public static void checkRanks(String name, Tensor query, Tensor key, Tensor value) {
        if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4) {
            throw new IllegalArgumentException(name + ": query, key and value must be [batch, heads, length, "
                    + "headDim], got query " + shape(query) + ", key " + shape(key) + ", value " + shape(value));
        }
    }

    /**
     * Checks q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], the key padding mask [B, Lk] and
     * a bias that broadcasts to [B, H, Lq, Lk]; {@code name} starts every message.
     */
    public static void check(String name, Tensor query, Tensor key, Tensor value, AttentionContext context) {
        checkRanks(name, query, key, value);
        if (query.size(0) != key.size(0) || query.size(0) != value.size(0)
                || query.size(1) != key.size(1) || query.size(1) != value.size(1)) {
            throw new IllegalArgumentException(name + ": batch and heads of query " + shape(query) + ", key "
                    + shape(key) + " and value " + shape(value) + " must match");
        }
        if (query.size(3) != key.size(3)) {
            throw new IllegalArgumentException(name + ": query " + shape(query) + " and key " + shape(key)
                    + " must have the same headDim");
        }
        if (key.size(2) != value.size(2)) {
            throw new IllegalArgumentException(name + ": key " + shape(key) + " and value " + shape(value)
                    + " must have the same length");
        }
        int[] scores = {query.size(0), query.size(1), query.size(2), key.size(2)};
        Tensor keyPaddingMask = context.keyPaddingMask();
        if (keyPaddingMask != null && (keyPaddingMask.dim() != 2 || keyPaddingMask.size(0) != scores[0] || keyPaddingMask.size(1) != scores[3])) {
            throw new IllegalArgumentException(name + ": keyPaddingMask " + shape(keyPaddingMask)
                    + " must be [batch, keyLength] = " + Arrays.toString(new int[] {scores[0], scores[3]}));
        }
        Tensor bias = context.bias();
        if (bias != null && !broadcastsTo(bias.shape(), scores)) {
            throw new IllegalArgumentException(name + ": bias " + shape(bias)
                    + " does not broadcast to the scores [batch, heads, queryLength, keyLength] = "
                    + Arrays.toString(scores));
        }
    }

    /**
     * Refuses an additive bias and attention dropout, for a mechanism that forms no query-key
     * scores to add a bias to and no attention weights to drop; {@code name} starts each message.
     */
    public static void refuseBiasAndDropout(String name, AttentionContext context) {
        if (context.bias() != null) {
            throw new IllegalArgumentException(name + ": an additive bias is not supported: the mechanism computes "
                    + "no query-key scores to add it to (got bias " + shape(context.bias()) + ")");
        }
        if (context.dropout() > 0f) {
            throw new IllegalArgumentException(name + ": attention dropout " + context.dropout() + " is not supported: "
                    + "the mechanism forms no attention weights to drop (set attentionDropout to 0; residual "
                    + "dropout still applies)");
        }
    }

    /** Whether {@code shape} broadcasts to {@code target} without changing it (trailing alignment, sizes equal or 1). */
    /**
     * Whether a mechanism with parameters, initialised for {@code heads} heads of size {@code headDim}
     * and values of size {@code valueDim} ({@code heads} -1: not yet), is asked again for that same
     * layout, which leaves it as it is.
     *
     * @throws IllegalStateException when it is asked for another layout
     */
    public static boolean initialisedFor(String name, int heads, int headDim, int valueDim,
                                         int askedHeads, int askedHeadDim, int askedValueDim) {
        if (heads == -1) {
            return false;
        }
        if (askedHeads != heads || askedHeadDim != headDim || askedValueDim != valueDim) {
            throw new IllegalStateException(name + ": initialised for " + heads + " heads of size " + headDim
                    + " and values of size " + valueDim + ", asked for " + askedHeads + ", " + askedHeadDim
                    + " and " + askedValueDim);
        }
        return true;
    }

    /**
     * The checks of {@link org.xformers4j.component.attention.StackAware#placeInStack}: a layer in
     * [0, layers), a store, and a mechanism neither placed nor initialised before.
     *
     * @throws IllegalArgumentException for a layer outside the stack or no store
     * @throws IllegalStateException    when the mechanism was already placed or initialised
     */
    public static void checkPlacement(String name, int layer, int layers, SharedParameters shared,
                                      boolean placedOrInitialized) {
        if (layer < 0 || layer >= layers || shared == null) {
            throw new IllegalArgumentException(name + ": placeInStack needs 0 <= layer < layers and a store, got layer "
                    + layer + " of " + layers + " and " + shared);
        }
        if (placedOrInitialized) {
            throw new IllegalStateException(name + ": placeInStack must be called once, before initialize");
        }
    }

    private static boolean broadcastsTo(int[] shape, int[] target) {
        if (shape.length > target.length) {
            return false;
        }
        for (int d = 1; d <= shape.length; d++) {
            int size = shape[shape.length - d];
            if (size != 1 && size != target[target.length - d]) {
                return false;
            }
        }
        return true;
    }

    /** The shape of {@code t} as {@code [2, 3, 4]}, for messages. */
    public static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
