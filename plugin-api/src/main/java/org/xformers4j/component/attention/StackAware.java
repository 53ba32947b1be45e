package org.xformers4j.component.attention;

import org.xformers4j.nn.SharedParameters;

/**
 * An attention mechanism that depends on its place in a stack of layers, or shares parameters
 * with the mechanisms of the other layers of its stack (Wang et al., 2020, "Linformer:
 * Self-Attention with Linear Complexity", §4: layerwise sharing of the projections, and a
 * projected length that shrinks with depth).
 *
 * <p>A model builder that stacks layers ({@code BlockStack} in model-plugins, for encoders and
 * decoders) calls {@link #placeInStack} on each layer's mechanism that implements this interface,
 * once, after creating it and before the multi-head layer calls
 * {@link AttentionMechanism#initialize}, so that {@code initialize} can use the place and the
 * store. The builder makes one {@link SharedParameters} store per stack and role: the
 * self-attention mechanisms of a stack share one, the cross-attention mechanisms of a decoder
 * another. A mechanism that is never placed (a {@link org.xformers4j.nn.MultiHeadAttention} used
 * on its own) is layer 0 of 1 and owns all its parameters.
 */
public interface StackAware {

    /**
     * Tells the mechanism that it is layer {@code layer} of {@code layers} and gives it the stack's
     * store of shared parameters. Called at most once, before {@link AttentionMechanism#initialize}.
     *
     * @param layer  0-based index of the layer in the stack
     * @param layers number of layers in the stack
     * @param shared the store shared by the mechanisms of this role in this stack
     * @throws IllegalArgumentException if {@code layer} is not in [0, layers) or {@code shared} is null
     * @throws IllegalStateException    if the mechanism was already placed or initialised
     */
    void placeInStack(int layer, int layers, SharedParameters shared);
}
