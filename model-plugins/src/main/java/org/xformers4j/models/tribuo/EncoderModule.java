package org.xformers4j.models.tribuo;

import java.util.List;
import java.util.Map;
import org.tribuo.Example;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/** A fitted {@link InputEncoder}: learned parameters that turn a batch of examples into tokens. */
public abstract class EncoderModule extends Module {

    /**
     * Token embeddings and which tokens are padding.
     *
     * @param embeddings  [B, T, D]
     * @param paddingMask [B, T], non-zero where the token is padding; null when no token is
     */
    public record Tokens(Tensor embeddings, Tensor paddingMask) {
    }

    /** Encodes {@code batch}; the embeddings require grad through the module's parameters. */
    public abstract Tokens forward(List<? extends Example<?>> batch);

    /** The largest number of tokens T an example can become (the length positional encodings need). */
    public abstract int maxTokens();

    /** The token size D. */
    public abstract int modelDim();

    /**
     * The 2-D layout of the tokens {@link #forward} makes when they are the cells of an image
     * (image patches, row-major from token 0), which the model passes to attention mechanisms that
     * read it ({@link org.xformers4j.component.attention.AttentionCapabilities#grid()}); null, the
     * default, when the tokens are a sequence.
     */
    public Grid grid() {
        return null;
    }

    /**
     * For each token {@link #forward} makes of {@code example}, in order, the names of the features
     * it is made of (one feature, a patch's pixels, or the token's text), for explanations; padding
     * is not included.
     */
    public abstract List<List<String>> tokenFeatures(Example<?> example);

    /**
     * What {@link InputEncoder#fit} computed from the data besides the parameters (statistics,
     * vocabulary), as text entries, which {@link InputEncoder#restore} reads back; a saved model
     * keeps them in its checkpoint's metadata, the parameters with its weights.
     */
    public abstract Map<String, String> state();
}
