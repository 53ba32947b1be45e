package org.xformers4j.attention.kernel;

import java.util.Arrays;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

/**
 * The input checks of the kernel attentions of this package (which have no scores, so take no
 * additive bias): shapes of the queries, keys, values and key padding mask, and the causal
 * alignment, each failure an {@link IllegalArgumentException} naming the mechanism and the
 * offending shapes or feature.
 */
final class KernelChecks {

    private KernelChecks() {
    }

    /**
     * Checks q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], the key padding mask [B, Lk], that
     * there is no bias and no attention dropout, and, with a causal context, that there are no more queries than keys (and,
     * when {@code causalRefusal} is not null, that the context is not causal at all: the refusal
     * then says why).
     */
    static void check(String name, Tensor query, Tensor key, Tensor value, AttentionContext context,
                      String causalRefusal) {
        if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4) {
            throw new IllegalArgumentException(name + ": query, key and value must be [batch, heads, length, "
                    + "headDim], got query " + shape(query) + ", key " + shape(key) + ", value " + shape(value));
        }
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
        Tensor mask = context.keyPaddingMask();
        if (mask != null && (mask.dim() != 2 || mask.size(0) != key.size(0) || mask.size(1) != key.size(2))) {
            throw new IllegalArgumentException(name + ": keyPaddingMask " + shape(mask)
                    + " must be [batch, keyLength] = " + Arrays.toString(new int[] {key.size(0), key.size(2)}));
        }
        if (context.bias() != null) {
            throw new IllegalArgumentException(name + ": an additive bias " + shape(context.bias())
                    + " is not supported: the mechanism computes no query-key scores to add it to");
        }
        if (context.dropout() > 0f) {
            throw new IllegalArgumentException(name + ": attention dropout " + context.dropout() + " is not supported: "
                    + "the mechanism forms no attention weights to drop (set attentionDropout to 0; residual "
                    + "dropout still applies)");
        }
        if (context.causal() && causalRefusal != null) {
            throw new IllegalArgumentException(name + ": a causal context is not supported: " + causalRefusal);
        }
        if (context.causal() && query.size(2) > key.size(2)) {
            throw new IllegalArgumentException(name + ": a causal context needs at most as many queries as keys "
                    + "(queries are end-aligned), got query " + shape(query) + " and key " + shape(key));
        }
    }

    /** The shape of {@code t} as {@code [2, 3, 4]}, for messages. */
    static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
