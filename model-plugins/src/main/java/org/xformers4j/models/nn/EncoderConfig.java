package org.xformers4j.models.nn;

/**
 * The architecture of a {@link TransformerEncoder}. Build with {@link #builder(BlockConfig, int)},
 * which starts from CLS pooling, no register tokens, no attention dropout, ordinary (stored
 * activation) blocks and no token selection; the constructor checks every field and names the bad one.
 *
 * @param block             every block's architecture; its {@code dropPath} is the stochastic depth rate of
 *                          the last block, block l of N getting l/N of it (Huang et al., 2016, linear decay)
 * @param layers            number of blocks
 * @param pooling           how the sequence becomes one vector per example
 * @param numRegisterTokens learned tokens prepended to every sequence and excluded from pooling (Darcet
 *                          et al., 2024), 0 for none
 * @param attentionDropout  dropout probability on the attention weights in training, in [0, 1)
 * @param reversible        run the blocks as a {@link ReversibleSequence} (Kitaev et al., 2020, "Reformer",
 *                          §3): activations are recomputed in backward instead of stored, so training memory
 *                          barely grows with depth; see {@link TransformerEncoder}. Needs pre-norm blocks and no
 *                          randomness (residual and attention dropout, stochastic depth all 0), as backward
 *                          recomputes every block; and {@code block.checkpointing} OFF, which would only repeat
 *                          the recomputation. {@code block.checkpointing} HEAD needs attentionDropout 0
 * @param tokenSelection    the blocks that attend over their most attended tokens only (Singh et al., 2024,
 *                          ToSA; see {@link TokenSelection}), each below {@code layers}; null for none. Not with
 *                          reversible blocks, whose two streams have no single set of tokens to rank
 */
public record EncoderConfig(BlockConfig block, int layers, TransformerEncoder.Pooling pooling, int numRegisterTokens,
                            float attentionDropout, boolean reversible, TokenSelection tokenSelection) {

    public EncoderConfig {
        if (block == null) {
            throw new IllegalArgumentException("EncoderConfig: block must not be null");
        }
        if (layers <= 0) {
            throw new IllegalArgumentException("EncoderConfig: layers must be positive, got " + layers);
        }
        if (pooling == null) {
            throw new IllegalArgumentException("EncoderConfig: pooling must not be null");
        }
        if (numRegisterTokens < 0) {
            throw new IllegalArgumentException("EncoderConfig: numRegisterTokens must be >= 0, got "
                    + numRegisterTokens);
        }
        if (!(attentionDropout >= 0f && attentionDropout < 1f)) {
            throw new IllegalArgumentException("EncoderConfig: attentionDropout must be in [0, 1), got "
                    + attentionDropout);
        }
        if (reversible) {
            if (block.placement() != NormPlacement.PRE) {
                throw new IllegalArgumentException("EncoderConfig: reversible blocks need block.placement PRE "
                        + "(F and G are the pre-norm sublayer branches), got " + block.placement());
            }
            if (block.residualDropout() != 0f || block.dropPath() != 0f || attentionDropout != 0f) {
                throw new IllegalArgumentException("EncoderConfig: reversible blocks are recomputed in backward, so "
                        + "block.residualDropout, block.dropPath and attentionDropout must be 0, got "
                        + block.residualDropout() + ", " + block.dropPath() + ", " + attentionDropout);
            }
            if (block.checkpointing() != ActivationCheckpointing.OFF) {
                throw new IllegalArgumentException("EncoderConfig: reversible blocks already recompute every "
                        + "activation in backward, so block.checkpointing must be OFF, got " + block.checkpointing());
            }
        }
        if (tokenSelection != null) {
            int last = tokenSelection.layers().get(tokenSelection.layers().size() - 1);
            if (last >= layers) {
                throw new IllegalArgumentException("EncoderConfig: tokenSelection names block " + last + ", but the "
                        + "encoder has " + layers + " blocks, numbered from 0");
            }
            if (reversible) {
                throw new IllegalArgumentException("EncoderConfig: token selection does not combine with reversible "
                        + "blocks, whose two streams have no single set of tokens to rank");
            }
        }
        checkHeadCheckpointing("EncoderConfig", block, attentionDropout);
    }

    /**
     * Refuses {@link ActivationCheckpointing#HEAD} with attention dropout: one head at a time cannot
     * draw the masks that all heads at once draw.
     */
    static void checkHeadCheckpointing(String owner, BlockConfig block, float attentionDropout) {
        if (block.checkpointing() == ActivationCheckpointing.HEAD && attentionDropout != 0f) {
            throw new IllegalArgumentException(owner + ": block.checkpointing HEAD runs the attention one head at a "
                    + "time, which cannot draw the attention dropout masks of all heads at once, so attentionDropout "
                    + "must be 0, got " + attentionDropout);
        }
    }

    /** A builder for a stack of {@code layers} blocks of architecture {@code block}. */
    public static Builder builder(BlockConfig block, int layers) {
        return new Builder(block, layers);
    }

    /** Builds an {@link EncoderConfig}; each setter names the record component it sets. */
    public static final class Builder {
        private final BlockConfig block;
        private final int layers;
        private TransformerEncoder.Pooling pooling = TransformerEncoder.Pooling.CLS;
        private int numRegisterTokens;
        private float attentionDropout;
        private boolean reversible;
        private TokenSelection tokenSelection;

        private Builder(BlockConfig block, int layers) {
            this.block = block;
            this.layers = layers;
        }

        public Builder pooling(TransformerEncoder.Pooling value) {
            this.pooling = value;
            return this;
        }

        public Builder numRegisterTokens(int value) {
            this.numRegisterTokens = value;
            return this;
        }

        public Builder attentionDropout(float value) {
            this.attentionDropout = value;
            return this;
        }

        public Builder reversible(boolean value) {
            this.reversible = value;
            return this;
        }

        public Builder tokenSelection(TokenSelection value) {
            this.tokenSelection = value;
            return this;
        }

        public EncoderConfig build() {
            return new EncoderConfig(block, layers, pooling, numRegisterTokens, attentionDropout, reversible,
                    tokenSelection);
        }
    }
}
