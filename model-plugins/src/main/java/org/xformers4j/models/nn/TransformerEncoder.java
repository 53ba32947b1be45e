package org.xformers4j.models.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.ReplayableRandom;
import org.xformers4j.tensor.Tensor;

/**
 * A stack of {@link TransformerBlock}s over token embeddings, pooled to one vector per example:
 * <pre>
 *   x [B, L, D] → + positions (hook 1) → [CLS] [reg₁ … reg_R] x   [B, P + L, D], P = prefix length
 *     → N × TransformerBlock → final norm (pre- and sandwich-norm) → sequence [B, P + L, D]
 *     → pooled [B, D]: the CLS token's output, or the mean over the non-padded tokens of x
 * </pre>
 * CLS pooling prepends a learned token whose output summarises the sequence (Devlin et al., 2019,
 * BERT; Dosovitskiy et al., 2021, ViT). Register tokens (Darcet et al., 2024, "Vision Transformers
 * Need Registers") are learned tokens that give attention somewhere to put global information;
 * they are never pooled. Both are initialised from N(0, 0.02²) and take no weight decay. With a
 * mechanism that attends only nearby (local, sliding-window) the CLS token, at the start, sees
 * only the first tokens in each layer: prefer mean pooling there.
 *
 * <p>Positions. Hook 1 of the positional encoding adds positions 0 … L-1 to the token embeddings
 * before the CLS and register tokens are prepended: those carry no absolute position, as they
 * stand for no place in the input, and a learned table needs only L rows. Hooks 2 and 3 (rotary,
 * ALiBi, T5 buckets) are applied inside the attention to the whole sequence, so there the prefix
 * occupies relative positions 0 … P-1 and the tokens P … P+L-1. The encoding is shared by every
 * block and initialised once here with (modelDim, heads, rng); if it is a {@link Module} its
 * parameters are listed under {@code positional}. When the tokens are the cells of an image, their
 * {@link Grid} goes to the attention mechanisms in the context, shifted past the prefix.
 *
 * <p>Each block gets its own attention mechanism from the supplier, as mechanisms may hold
 * per-layer state (LSH rotations, learned parameters). Every pairing problem is found when the
 * encoder is built: a positional encoding whose attention bias the mechanism cannot take raises
 * {@link IllegalArgumentException} naming both components. Parameter names follow the structure:
 * {@code clsToken}, {@code registerTokens}, {@code blocks.0.attention.query.weight}, …, {@code
 * finalNorm.weight}; parameters that the mechanisms share across the blocks under {@code
 * blocks.attentionShared} (see {@link org.xformers4j.component.attention.StackAware}).
 *
 * <p>Reversible blocks ({@link EncoderConfig#reversible()}; Kitaev et al., 2020, "Reformer: The
 * Efficient Transformer", §3). The blocks run as a {@link ReversibleSequence} with F = the
 * attention branch and G = the feed-forward branch of each pre-norm block ({@link
 * TransformerBlock#reversible}): the input is duplicated into two streams, (x1, x2) = (x, x),
 * each block maps them to (x1 + F(x2), x2 + G(x1 + F(x2))), and the blocks' output is the mean of
 * the two streams, (y1 + y2) / 2, before the final norm. Backward recomputes each block from its
 * outputs instead of storing its activations, so training memory for activations is about one
 * block's whatever the depth. The parameters and their names are those of ordinary blocks, but
 * the function differs: weights do not carry over between the two modes.
 *
 * <p>Activation checkpointing ({@link BlockConfig#checkpointing()}, {@link ActivationCheckpointing};
 * Chen et al., 2016): at {@code BLOCK} each block keeps only its input and is recomputed in the
 * backward pass, at {@code HEAD} each attention head is also recomputed on its own. The outputs,
 * the loss and every gradient are those of the ordinary stack, dropout and stochastic depth masks
 * included; only the memory held for the backward pass and the compute differ. It does not combine
 * with reversible blocks, which already recompute everything.
 *
 * <p>Token selection ({@link EncoderConfig#tokenSelection()}; Singh et al., 2024, "ToSA: Token
 * Selective Attention"): in each selection block only the tokens that the block before attended to
 * most, and the prefix tokens, go through the block; the others bypass it unchanged and are merged
 * back in their places ({@link TokenSelection}). The mechanism must report its weights and the
 * positional encoding must act on the embeddings only, which the constructor checks.
 */
public final class TransformerEncoder extends Module {

    /** How the sequence output becomes one vector per example. */
    public enum Pooling {
        /** The output at a learned token prepended to the sequence. */
        CLS,
        /** The mean of the outputs at the non-padded input tokens. */
        MEAN
    }

    /**
     * What the encoder computes.
     *
     * @param sequence     [batch, prefixLength + length, modelDim], the final (normalised) states of every
     *                     position, CLS and register tokens first
     * @param prefixLength the number of prepended tokens: 1 for CLS pooling plus the register tokens
     * @param pooled       [batch, modelDim]
     */
    public record Output(Tensor sequence, int prefixLength, Tensor pooled) {

        /** The states of the input tokens only, [batch, length, modelDim]. */
        public Tensor tokens() {
            return sequence.narrow(1, prefixLength, sequence.size(1) - prefixLength);
        }
    }

    private final EncoderConfig config;
    private final int modelDim;
    private final PositionalEncoding positional;
    private final Tensor clsToken;
    private final Tensor registerTokens;
    private final BlockStack blocks;
    private final NormKind.Norm finalNorm;
    private final RandomGenerator attentionRng;

    /**
     * @param config     the architecture
     * @param mechanisms a new, distinct attention mechanism on every call (for example
     *                   {@code () -> registry.create(AttentionMechanism.class, "flash", options)}), one per block
     * @param positional a positional encoding, not yet initialised, or null for none
     * @param rng        seeded generator for every weight and the dropout seeds
     */
    public TransformerEncoder(EncoderConfig config, Supplier<? extends AttentionMechanism> mechanisms,
                              PositionalEncoding positional, RandomGenerator rng) {
        if (config == null || mechanisms == null || rng == null) {
            throw new IllegalArgumentException("TransformerEncoder: config, mechanisms and rng must not be null, got "
                    + config + ", " + mechanisms + ", " + rng);
        }
        BlockConfig block = config.block();
        this.config = config;
        this.modelDim = block.modelDim();
        this.positional = positional;
        if (positional != null) {
            positional.initialize(modelDim, block.heads(), rng);
            if (positional instanceof Module m) {
                registerModule("positional", m);
            }
        }
        this.clsToken = config.pooling() == Pooling.CLS
                ? registerParameter("clsToken", Init.normal(rng, 0f, 0.02f, 1, 1, modelDim), false) : null;
        this.registerTokens = config.numRegisterTokens() > 0
                ? registerParameter("registerTokens",
                        Init.normal(rng, 0f, 0.02f, 1, config.numRegisterTokens(), modelDim), false)
                : null;

        this.blocks = registerModule("blocks", new BlockStack("TransformerEncoder", block, config.layers(),
                mechanisms, null, positional, rng));
        if (config.tokenSelection() != null) {
            for (int l = 0; l < blocks.size(); l++) {
                try {
                    TokenSelection.checkComponents(blocks.get(l).attention().mechanism(), positional);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("TransformerEncoder: block " + l + ": " + e.getMessage(), e);
                }
            }
        }
        this.finalNorm = block.placement().needsFinalNorm() ? block.norm().create(modelDim) : null;
        if (finalNorm != null) {
            registerModule("finalNorm", finalNorm.module());
        }
        this.attentionRng = new ReplayableRandom(rng.nextLong());
    }

    /**
     * @param embeddings     token embeddings [batch, length, modelDim]
     * @param keyPaddingMask [batch, length], non-zero at padded tokens, or null when nothing is padded
     */
    public Output forward(Tensor embeddings, Tensor keyPaddingMask) {
        return forward(embeddings, keyPaddingMask, null);
    }

    /**
     * {@link #forward(Tensor, Tensor)} over tokens that are the cells of an image laid out as
     * {@code grid} (within the L tokens); the mechanisms receive it shifted past the CLS and
     * register tokens.
     *
     * @param grid the tokens' 2-D layout, or null for a sequence
     */
    public Output forward(Tensor embeddings, Tensor keyPaddingMask, Grid grid) {
        Input input = input(embeddings, keyPaddingMask, grid);
        Tensor x = config.reversible() ? reversibleBlocks(input) : storedBlocks(input);
        if (finalNorm != null) {
            x = finalNorm.forward().apply(x);
        }
        int prefix = prefixLength();
        return new Output(x, prefix, pool(x, prefix, keyPaddingMask));
    }

    /**
     * The ordinary stack, block by block with activations stored, or recomputed in backward with
     * {@link BlockConfig#checkpointing()}: [B, P + L, D] → [B, P + L, D].
     */
    private Tensor storedBlocks(Input input) {
        Tensor x = input.sequence();
        AttentionContext context = input.context();
        TokenSelection selection = config.tokenSelection();
        TokenSelection.Kept kept = null;
        for (int l = 0; l < blocks.size(); l++) {
            TokenSelection.Kept ranked = selection != null && selection.selects(l + 1)
                    ? selection.rank(blocks.get(l).attentionWeights(x, context), context.keyPaddingMask(), prefixLength())
                    : null;
            x = kept == null ? blocks.forward(l, x, context, null) : selectedBlock(l, x, context, kept);
            kept = ranked;
        }
        return x;
    }

    /**
     * Block {@code l} of token selection: the block over the {@code kept} tokens alone, merged back
     * into {@code x} [B, P + L, D], whose other tokens bypass it ({@link TokenSelection}). The kept
     * tokens attend with their padding mask and no grid, which they no longer form.
     */
    private Tensor selectedBlock(int l, Tensor x, AttentionContext context, TokenSelection.Kept kept) {
        return kept.merge(x, blocks.forward(l, kept.gather(x), keptContext(context, kept), null));
    }

    /** {@code context} for the kept tokens: their padding mask, no grid. */
    private static AttentionContext keptContext(AttentionContext context, TokenSelection.Kept kept) {
        return context.toBuilder().keyPaddingMask(kept.gatherMask(context.keyPaddingMask())).grid(null).build();
    }

    /**
     * The reversible stack: (x, x) through a {@link ReversibleSequence} of the blocks, then the mean
     * of the two output streams, [B, P + L, D] → [B, P + L, D].
     */
    private Tensor reversibleBlocks(Input input) {
        List<ReversibleBlock> stack = new ArrayList<>(blocks.size());
        for (TransformerBlock block : blocks.all()) {
            stack.add(block.reversible(input.context()));
        }
        Tensor x = input.sequence();
        Tensor y = new ReversibleSequence(stack).forward(x, x);                                 // [B, P + L, 2D]
        return y.narrow(2, 0, modelDim).add(y.narrow(2, modelDim, modelDim)).mul(0.5f);
    }

    /**
     * The attention weights of every block (the weights each block's mechanism applies, {@link
     * org.xformers4j.component.attention.WeightedAttention}), collected while running the blocks in
     * evaluation mode without recording a graph: entry l is block l's {@link
     * TransformerBlock#attentionWeights} on its input (with reversible blocks, F's input stream
     * x2), over the CLS and register tokens and then the input tokens, as {@link #forward} lays
     * them out; in a token selection block ({@link TokenSelection}) the kept tokens' weights at their
     * positions, the rows and columns of the tokens that bypass it 0. The inputs to attention rollout ({@link AttentionRollout}). The encoder's training mode is restored afterwards; an encoder already in
     * evaluation mode is only read, as by {@link #forward}.
     *
     * @param embeddings     token embeddings [batch, length, modelDim]
     * @param keyPaddingMask [batch, length], non-zero at padded tokens, or null when nothing is padded
     * @return per block [batch, heads, prefixLength + length, prefixLength + length]
     * @throws IllegalArgumentException when a block's mechanism does not report its weights (see
     *                                  {@link #reportsAttentionWeights()})
     */
    public List<Tensor> attentionWeights(Tensor embeddings, Tensor keyPaddingMask) {
        return attentionWeights(embeddings, keyPaddingMask, null);
    }

    /**
     * {@link #attentionWeights(Tensor, Tensor)} of tokens laid out as {@code grid}, which the blocks
     * between the weights see as {@link #forward(Tensor, Tensor, Grid)} passes it.
     *
     * @param grid the tokens' 2-D layout, or null for a sequence
     */
    public List<Tensor> attentionWeights(Tensor embeddings, Tensor keyPaddingMask, Grid grid) {
        boolean training = isTraining();
        if (training) {
            eval();
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Input input = input(embeddings, keyPaddingMask, grid);
            AttentionContext context = input.context();
            Tensor x1 = input.sequence();
            Tensor x2 = x1;                       // the attention's input stream; the ordinary stack has only this one
            TokenSelection selection = config.tokenSelection();
            List<Tensor> weights = new ArrayList<>(blocks.size());
            for (int l = 0; l < blocks.size(); l++) {
                TransformerBlock block = blocks.get(l);
                TokenSelection.Kept kept = selection != null && selection.selects(l)
                        ? selection.rank(weights.get(l - 1), context.keyPaddingMask(), prefixLength()) : null;
                weights.add(kept == null ? block.attentionWeights(x2, context)
                        : kept.scatterWeights(block.attentionWeights(kept.gather(x2), keptContext(context, kept))));
                if (l + 1 == blocks.size()) {
                    break;                                               // the last block's output is not needed
                }
                if (config.reversible()) {
                    Tensor[] streams = block.reversible(context).forward(x1, x2);
                    x1 = streams[0];
                    x2 = streams[1];
                } else {
                    x2 = kept == null ? block.forward(x2, context)
                            : kept.merge(x2, block.forward(kept.gather(x2), keptContext(context, kept)));
                }
            }
            return weights;
        } finally {
            if (training) {
                train();
            }
        }
    }

    /** The blocks' input: the sequence [B, P + L, D] and the context with its key padding mask [B, P + L]. */
    private record Input(Tensor sequence, AttentionContext context) {
    }

    /** Checks the shapes, adds positions (hook 1), prepends the CLS and register tokens, shifts the grid past them. */
    private Input input(Tensor embeddings, Tensor keyPaddingMask, Grid grid) {
        if (embeddings == null || embeddings.dim() != 3 || embeddings.size(2) != modelDim) {
            throw new IllegalArgumentException("TransformerEncoder: embeddings must be [batch, length, modelDim = "
                    + modelDim + "], got shape " + (embeddings == null ? null : Arrays.toString(embeddings.shape())));
        }
        int batch = embeddings.size(0);
        int length = embeddings.size(1);
        if (keyPaddingMask != null && !Arrays.equals(keyPaddingMask.shape(), new int[] {batch, length})) {
            throw new IllegalArgumentException("TransformerEncoder: keyPaddingMask must be [batch, length] = ["
                    + batch + ", " + length + "], got shape " + Arrays.toString(keyPaddingMask.shape()));
        }
        if (grid != null && grid.start() + grid.cells() > length) {
            throw new IllegalArgumentException("TransformerEncoder: the grid " + grid + " does not fit in "
                    + length + " tokens");
        }
        Tensor x = positional == null ? embeddings : positional.addToEmbeddings(embeddings, 0);

        // [B, L, D] → [B, P + L, D] with CLS and registers first; the mask gains P unpadded keys.
        int prefix = prefixLength();
        Tensor mask = keyPaddingMask;
        if (prefix > 0) {
            Tensor[] parts = clsToken == null ? new Tensor[] {registerTokens.expand(batch, prefix, modelDim), x}
                    : registerTokens == null ? new Tensor[] {clsToken.expand(batch, 1, modelDim), x}
                    : new Tensor[] {clsToken.expand(batch, 1, modelDim),
                            registerTokens.expand(batch, prefix - 1, modelDim), x};
            x = Tensor.concat(1, parts);
            if (mask != null) {
                mask = Tensor.concat(1, Tensor.zeros(mask.backend(), batch, prefix), mask);
            }
        }
        AttentionContext context = AttentionContext.builder().keyPaddingMask(mask)
                .dropout(config.attentionDropout(), attentionRng).grid(grid == null ? null : grid.shifted(prefix))
                .build();
        return new Input(x, context);
    }

    /** sequence [B, P + L, D] → [B, D]. */
    private Tensor pool(Tensor sequence, int prefix, Tensor keyPaddingMask) {
        int batch = sequence.size(0);
        if (config.pooling() == Pooling.CLS) {
            return sequence.narrow(1, 0, 1).reshape(batch, modelDim);
        }
        Tensor tokens = sequence.narrow(1, prefix, sequence.size(1) - prefix);              // [B, L, D]
        if (keyPaddingMask == null) {
            return tokens.mean(1, false);
        }
        Tensor padded = keyPaddingMask.unsqueeze(2);                                         // [B, L, 1]
        Tensor kept = keyPaddingMask.zerosLike().add(1f).maskedFill(keyPaddingMask, 0f);    // [B, L], 1 where kept
        Tensor count = kept.sum(1, true).maximum(Tensor.of(kept.backend(), new float[] {1f}));   // [B, 1]
        return tokens.maskedFill(padded, 0f).sum(1, false).div(count);                      // [B, D]
    }

    /**
     * Whether {@link #attentionWeights} can answer: every block's mechanism reports its weights
     * ({@link MultiHeadAttention#reportsWeights()}).
     */
    public boolean reportsAttentionWeights() {
        for (int l = 0; l < blocks.size(); l++) {
            if (!blocks.get(l).attention().reportsWeights()) {
                return false;
            }
        }
        return true;
    }

    /** The number of tokens prepended to the input: 1 for CLS pooling plus the register tokens. */
    public int prefixLength() {
        return (clsToken == null ? 0 : 1) + config.numRegisterTokens();
    }

    /** The architecture. */
    public EncoderConfig config() {
        return config;
    }

    /** Block {@code index}, 0-based. */
    public TransformerBlock block(int index) {
        return blocks.get(index);
    }
}
