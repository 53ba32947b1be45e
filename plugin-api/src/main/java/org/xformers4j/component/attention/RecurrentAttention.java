package org.xformers4j.component.attention;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.tensor.Tensor;

/**
 * An attention mechanism that decodes incrementally as a recurrent network, keeping a state of a
 * fixed size instead of the keys and values of every earlier position: the "RNN view" of causal
 * kernel attention (Katharopoulos et al., 2020, "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention", §3.4), whose state after position i is
 * <pre>
 *   S_i = S_{i-1} + φ(k_i) v_iᵀ   [F, Dv] per head,     z_i = z_{i-1} + φ(k_i)   [F]
 *   out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)
 * </pre>
 * so that a decoding step costs O(F·Dv) per head whatever the number of positions before it.
 *
 * <p>A multi-head layer ({@code org.xformers4j.nn.MultiHeadAttention}) decoding with a cache
 * ({@code org.xformers4j.nn.KvCache}) uses {@link #step} instead of {@link #forward} when its
 * mechanism implements this interface, and keeps the returned state in the cache, detached. The
 * mechanism must also declare {@code incrementalDecoding} in its {@link AttentionCapabilities}.
 *
 * <p><b>The state.</b> A list of tensors, each with the batch as its first dimension (so that beam
 * search can rebuild the batch by selecting rows of every tensor), whose sizes do not depend on the
 * number of positions summarised. What they hold is the mechanism's business; the layer only
 * passes the state of one step to the next.
 *
 * <p><b>The contract.</b> Feeding a sequence to {@link #step} in pieces, starting from the state
 * {@code null}, gives the outputs of one {@link #forward} over the whole sequence with the same
 * causal flag (queries end-aligned, as in {@link AttentionContext}), to float32 rounding:
 * with a causal context each new query sees the earlier positions and the new ones up to its own;
 * without, it sees the earlier positions and every new one. A key the step's padding mask marks
 * contributes nothing to the outputs or to the state, now or later. The outputs carry the gradient
 * of the new queries, keys and values; nothing flows into the state passed in.
 */
public interface RecurrentAttention extends AttentionMechanism {

    /**
     * Attention of new positions that continue the positions {@code state} summarises.
     *
     * @param query   the new queries [batch, heads, newLength, headDim]
     * @param key     the new keys [batch, keyValueHeads, newLength, headDim]
     * @param value   the new values [batch, keyValueHeads, newLength, valueDim]
     * @param context the causal flag and a key padding mask over the new keys only [batch,
     *                newLength]; no bias (the scores of earlier positions are not kept to add one to)
     * @param state   the state after the earlier positions, as the previous step returned it, or
     *                null before the first position
     * @return the outputs [batch, heads, newLength, valueDim] and the state after the new positions
     * @throws IllegalArgumentException for inputs {@link #forward} would refuse, or a state that is
     *                                  not this mechanism's for this batch
     */
    Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state);

    /**
     * What one {@link #step} returns.
     *
     * @param output [batch, heads, newLength, valueDim]
     * @param state  the state after the new positions, each tensor [batch, ...]
     */
    record Step(Tensor output, List<Tensor> state) {

        /** Checks that both are given and that every tensor of the state has the output's batch first. */
        public Step {
            if (output == null || state == null || state.isEmpty()) {
                throw new IllegalArgumentException("RecurrentAttention.Step needs an output and a non-empty state, got "
                        + output + " and " + state);
            }
            state = List.copyOf(state);
            for (Tensor t : state) {
                if (t.dim() == 0 || t.size(0) != output.size(0)) {
                    throw new IllegalArgumentException("RecurrentAttention.Step: every state tensor must have the batch "
                            + output.size(0) + " as its first dimension, got " + Arrays.toString(t.shape()));
                }
            }
        }
    }
}
