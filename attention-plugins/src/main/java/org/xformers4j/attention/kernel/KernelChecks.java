package org.xformers4j.attention.kernel;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

/**
 * The input checks of the kernel attentions of this package (which have no scores, so take no
 * additive bias): the shapes every mechanism checks ({@link AttentionInputs}), then no bias, no
 * attention dropout and the causal alignment, each failure an {@link IllegalArgumentException} naming the mechanism and the
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
        AttentionInputs.check(name, query, key, value, context);
        AttentionInputs.refuseBiasAndDropout(name, context);
        if (context.causal() && causalRefusal != null) {
            throw new IllegalArgumentException(name + ": a causal context is not supported: " + causalRefusal);
        }
        if (context.causal() && query.size(2) > key.size(2)) {
            throw new IllegalArgumentException(name + ": with a causal context there may not be more queries than "
                    + "keys (queries are end-aligned to the keys), got query " + shape(query) + " and key " + shape(key));
        }
    }

    /**
     * The checks of {@link #check} for a recurrent step over new positions, then that the queries
     * and keys cover the same new positions and that {@code state} is null or holds tensors of
     * exactly the {@code expected} shapes (the state this mechanism returns for this batch and
     * these sizes).
     */
    static void checkStep(String name, Tensor query, Tensor key, Tensor value, AttentionContext context,
                          List<Tensor> state, int[]... expected) {
        check(name, query, key, value, context, null);
        if (query.size(2) != key.size(2)) {
            throw new IllegalArgumentException(name + ": a recurrent step takes as many new queries as new keys, got "
                    + "query " + shape(query) + " and key " + shape(key));
        }
        if (state == null) {
            return;
        }
        boolean matches = state.size() == expected.length;
        for (int i = 0; matches && i < expected.length; i++) {
            matches = Arrays.equals(state.get(i).shape(), expected[i]);
        }
        if (!matches) {
            throw new IllegalArgumentException(name + ": the recurrent state " + state.stream().map(KernelChecks::shape)
                    .toList() + " is not this mechanism's for query " + shape(query) + " and value " + shape(value)
                    + ", which needs " + Arrays.stream(expected).map(Arrays::toString).toList() + "; was it made by "
                    + "another layer, or not reordered after the batch changed?");
        }
    }

    /** The shape of {@code t} as {@code [2, 3, 4]}, for messages. */
    static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
