package org.xformers4j.component.attention;

import java.util.random.RandomGenerator;
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
     * Called once by the multi-head layer that owns the mechanism, before any forward, with its
     * head layout. Mechanisms with parameters (learned memory slots, a learned temperature) create
     * them here and, when they are an {@link org.xformers4j.nn.Module}, register them so the layer
     * trains and saves them.
     *
     * @param heads   number of query heads
     * @param headDim size of each head
     * @param rng     seeded generator for the parameters
     */
    default void initialize(int heads, int headDim, RandomGenerator rng) {
    }

    /**
     * {@link #initialize(int, int, RandomGenerator)} for values of {@code valueDim} elements per
     * head, which the interface allows to differ from {@code headDim} (the conformance suite uses
     * another size; the multi-head layer passes {@code headDim}). A mechanism whose parameters act
     * on the values (per-channel convolutions of V) overrides this one; the default ignores
     * {@code valueDim}.
     *
     * @param valueDim size of each head's values
     */
    default void initialize(int heads, int headDim, int valueDim, RandomGenerator rng) {
        initialize(heads, headDim, rng);
    }

    /**
     * The number of key and value heads the mechanism receives for {@code heads} query heads:
     * {@code heads} for multi-head attention, 1 for multi-query attention (Shazeer, 2019, "Fast
     * Transformer Decoding: One Write-Head is All You Need"), a divisor of {@code heads} for
     * grouped-query attention (Ainslie et al., 2023, "GQA: Training Generalized Multi-Query
     * Transformer Models from Multi-Head Checkpoints"). A mechanism that answers fewer than
     * {@code heads} receives keys and values [batch, keyValueHeads, keyLength, headDim] in
     * {@link #forward} and shares each among {@code heads / keyValueHeads} consecutive query heads
     * itself.
     */
    default int keyValueHeads(int heads) {
        return heads;
    }

    /**
     * Whether the heads are independent computations: head h of {@link #forward}'s output is what
     * {@code forward} returns, as its only head, given only query head h, key and value head
     * {@code h / (heads / keyValueHeads)} and head h of the context's bias (the whole bias where it
     * has no head axis), the context otherwise unchanged, to float32 rounding. Then {@link
     * org.xformers4j.nn.MultiHeadAttention} may run the mechanism one head at a time, each head's
     * activations recomputed in the backward pass on their own (activation checkpointing per head).
     * Attention dropout is outside the claim: its masks are drawn for all heads at once. False by
     * default; a mechanism with parameters of its own for each head, with state its calls advance
     * (a counter of training calls) or that refuses a single head answers false.
     */
    default boolean headsIndependent() {
        return false;
    }

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
