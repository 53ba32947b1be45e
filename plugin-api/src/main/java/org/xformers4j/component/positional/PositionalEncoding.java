package org.xformers4j.component.positional;

import java.util.random.RandomGenerator;
import org.xformers4j.component.Component;
import org.xformers4j.tensor.Tensor;

/**
 * Position information for a transformer, through up to three hooks with no-op defaults; an
 * implementation overrides the ones it uses and declares them in {@link PositionalCapabilities}.
 * Encodings with trainable parameters extend {@link org.xformers4j.nn.Module} so the model
 * registers and optimises them.
 */
public interface PositionalEncoding extends Component {

    /**
     * Called once by the owning model, before any hook, with the model width and the number of
     * attention heads; encodings that create parameters or tables do it here.
     */
    default void initialize(int modelDim, int heads, RandomGenerator rng) {
    }

    /**
     * Hook 1: token embeddings [batch, length, modelDim] for positions {@code offset} … {@code
     * offset + length - 1}, returned with position information added.
     */
    default Tensor addToEmbeddings(Tensor embeddings, int offset) {
        return embeddings;
    }

    /**
     * Hook 2: queries [batch, heads, queryLength, headDim] at positions from {@code queryOffset}
     * and keys [batch, heads, keyLength, headDim] at positions from {@code keyOffset}, returned as
     * {query, key} after rotation.
     */
    default Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
        return new Tensor[] {query, key};
    }

    /**
     * Hook 3: an additive attention bias broadcastable to [batch, heads, queryLength, keyLength]
     * for queries at positions from {@code queryOffset} and keys from 0, or null for none.
     */
    default Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
        return null;
    }

    /**
     * Hook 3 for an attention context that is {@code causal} or not; the multi-head layer calls
     * this one. The default ignores the flag and returns
     * {@link #attentionBias(int, int, int, int)}. An encoding whose bias fits only one kind of
     * context overrides it and refuses the other with an {@link IllegalArgumentException} naming
     * the option to change (ALiBi's causal form would reward keys after the query in an encoder).
     */
    default Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset, boolean causal) {
        return attentionBias(heads, queryLength, keyLength, queryOffset);
    }
}
