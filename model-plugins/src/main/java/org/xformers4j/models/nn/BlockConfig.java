package org.xformers4j.models.nn;

import org.xformers4j.nn.FeedForward;

/**
 * The architecture of one {@link TransformerBlock}. Build with {@link #builder(int, int)}, which
 * starts from a pre-norm LayerNorm block with a GELU feed-forward of 4·modelDim, biases and no
 * dropout, no feed-forward chunking and no activation checkpointing (BERT's and ViT's shape); the constructor checks every field and names the bad one.
 *
 * @param modelDim        width of the residual stream, a multiple of {@code heads}
 * @param heads           number of attention heads
 * @param hidden          hidden size of the feed-forward sublayer
 * @param activation      the feed-forward activation or gated variant
 * @param placement       where the norms sit around each sublayer
 * @param norm            which normalisation layer
 * @param bias            whether the attention and feed-forward projections have biases
 * @param residualDropout dropout probability on each sublayer's output before it joins the residual stream, in [0, 1)
 * @param dropPath        stochastic depth: probability of dropping a sample's whole residual branch in training, in [0, 1)
 * @param feedForwardChunkSize positions per chunk of the feed-forward sublayer, run through {@link
 *                        ChunkedFeedForward#apply} so its [positions, hidden] intermediate is never held for the
 *                        whole batch (Kitaev et al., 2020, Reformer, §3); same outputs and gradients; 0 for off
 * @param checkpointing   activation checkpointing (Chen et al., 2016) of a stack of these blocks in training,
 *                        the Linformer reference code's checkpoint levels: {@link ActivationCheckpointing#OFF}
 *                        ({@code C0}, the default) stores every activation; {@link ActivationCheckpointing#BLOCK}
 *                        ({@code C1}, per block) keeps only each block's input and recomputes the block in
 *                        backward; {@link ActivationCheckpointing#HEAD} ({@code C2}) also runs each attention
 *                        head on its own and recomputes it alone, for mechanisms whose heads are independent and
 *                        without attention dropout. Same loss and gradients at every level, dropout and stochastic
 *                        depth masks included; what the {@link TransformerEncoder} and {@link TransformerDecoder}
 *                        stacks apply, not a block used on its own
 */
public record BlockConfig(int modelDim, int heads, int hidden, FeedForward.Activation activation,
                          NormPlacement placement, NormKind norm, boolean bias, float residualDropout,
                          float dropPath, int feedForwardChunkSize, ActivationCheckpointing checkpointing) {

    public BlockConfig {
        positive("modelDim", modelDim);
        positive("heads", heads);
        positive("hidden", hidden);
        if (modelDim % heads != 0) {
            throw new IllegalArgumentException("BlockConfig: modelDim " + modelDim + " is not a multiple of heads "
                    + heads);
        }
        notNull("activation", activation);
        notNull("placement", placement);
        notNull("norm", norm);
        probability("residualDropout", residualDropout);
        probability("dropPath", dropPath);
        if (feedForwardChunkSize < 0) {
            throw new IllegalArgumentException("BlockConfig: feedForwardChunkSize must be >= 0 (0 for off), got "
                    + feedForwardChunkSize);
        }
        notNull("checkpointing", checkpointing);
    }

    /** A builder with BERT's defaults for a model of width {@code modelDim} with {@code heads} heads. */
    public static Builder builder(int modelDim, int heads) {
        return new Builder(modelDim, heads);
    }

    /** This configuration with another stochastic depth rate (the encoder's per-layer rates). */
    public BlockConfig withDropPath(float rate) {
        return new BlockConfig(modelDim, heads, hidden, activation, placement, norm, bias, residualDropout, rate,
                feedForwardChunkSize, checkpointing);
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("BlockConfig: " + field + " must be positive, got " + value);
        }
    }

    private static void notNull(String field, Object value) {
        if (value == null) {
            throw new IllegalArgumentException("BlockConfig: " + field + " must not be null");
        }
    }

    private static void probability(String field, float value) {
        if (!(value >= 0f && value < 1f)) {
            throw new IllegalArgumentException("BlockConfig: " + field + " must be in [0, 1), got " + value);
        }
    }

    /** Builds a {@link BlockConfig}; each setter names the record component it sets. */
    public static final class Builder {
        private final int modelDim;
        private final int heads;
        private int hidden;
        private FeedForward.Activation activation = FeedForward.Activation.GELU;
        private NormPlacement placement = NormPlacement.PRE;
        private NormKind norm = NormKind.LAYER;
        private boolean bias = true;
        private float residualDropout;
        private float dropPath;
        private int feedForwardChunkSize;
        private ActivationCheckpointing checkpointing = ActivationCheckpointing.OFF;

        private Builder(int modelDim, int heads) {
            this.modelDim = modelDim;
            this.heads = heads;
            this.hidden = 4 * modelDim;
        }

        public Builder hidden(int value) {
            this.hidden = value;
            return this;
        }

        public Builder activation(FeedForward.Activation value) {
            this.activation = value;
            return this;
        }

        public Builder placement(NormPlacement value) {
            this.placement = value;
            return this;
        }

        public Builder norm(NormKind value) {
            this.norm = value;
            return this;
        }

        public Builder bias(boolean value) {
            this.bias = value;
            return this;
        }

        public Builder residualDropout(float value) {
            this.residualDropout = value;
            return this;
        }

        public Builder dropPath(float value) {
            this.dropPath = value;
            return this;
        }

        public Builder feedForwardChunkSize(int value) {
            this.feedForwardChunkSize = value;
            return this;
        }

        /** Activation checkpointing of the stack's blocks in training; {@link ActivationCheckpointing#OFF} by default. */
        public Builder checkpointing(ActivationCheckpointing value) {
            this.checkpointing = value;
            return this;
        }

        public BlockConfig build() {
            return new BlockConfig(modelDim, heads, hidden, activation, placement, norm, bias, residualDropout,
                    dropPath, feedForwardChunkSize, checkpointing);
        }
    }
}
