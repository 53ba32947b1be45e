package org.xformers4j.component.attention;

import org.xformers4j.tensor.Tensor;

/**
 * An attention mechanism whose output is a weighted sum of the values and that can report those
 * weights: for attention maps (Vig, 2019, "A Multiscale Visualization of Attention in the
 * Transformer Model", BertViz), attention rollout (Abnar and Zuidema, 2020), and token selection by
 * the attention a token receives (Singh et al., 2024, "ToSA: Token Selective Attention").
 *
 * <p><b>The contract.</b> {@code forward(q, k, v, context)[b,h,i,:] = Σ_j w[b,h,i,j] · v[b,h',j,:]}
 * to float32 rounding, where {@code w = attentionWeights(q, k, context)} and h' is the key/value head
 * of query head h; attention dropout is not applied to the weights. A pair the mechanism never
 * compares (outside a window, a pruned score) has weight 0; a query that sees no key has a row of
 * zeros. The conformance suite checks the contract.
 */
public interface WeightedAttention extends AttentionMechanism {

    /**
     * The weights {@link #forward} applies to the values, computed without recording a graph.
     *
     * @param query   [batch, heads, queryLength, headDim], as {@link #forward} receives it
     * @param key     [batch, keyValueHeads, keyLength, headDim]
     * @param context as for {@link #forward}
     * @return [batch, heads, queryLength, keyLength]
     */
    Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context);
}
