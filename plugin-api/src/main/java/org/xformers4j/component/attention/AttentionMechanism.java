package org.xformers4j.component.attention;

import org.xformers4j.component.Component;
import org.xformers4j.tensor.Tensor;

/**
 * The core of an attention layer: per-head queries, keys and values in, per-head outputs out.
 * Projections, head split/merge and the output projection live in the multi-head layer that
 * delegates to the mechanism. Mechanisms declare what they support with
 * {@link AttentionCapabilities}; a mechanism given a context it cannot honour throws
 * {@link IllegalArgumentException} rather than computing something else.
 */
public interface AttentionMechanism extends Component {

    /**
     * Attention of {@code query} over {@code key}/{@code value}, differentiable in all three and in
     * the context's bias.
     *
     * @param query [batch, heads, queryLength, headDim]
     * @param key   [batch, heads, keyLength, headDim]
     * @param value [batch, heads, keyLength, valueDim]
     * @return [batch, heads, queryLength, valueDim]
     */
    Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context);
}
