package org.xformers4j.models.nn;

import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Dropout;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * One Transformer layer (Vaswani et al., 2017, "Attention Is All You Need", §3.1): a
 * self-attention sublayer then a position-wise feed-forward sublayer, each on a residual
 * connection, x [batch, length, modelDim] → [batch, length, modelDim]. With F a sublayer and
 * R(b) = StochasticDepth(Dropout(b)) what happens to its branch b before the addition:
 * <pre>
 *   PRE       x + R(F(norm(x)))                 (Xiong et al., 2020)
 *   POST      norm(x + R(F(x)))                 (Vaswani et al., 2017)
 *   SANDWICH  x + R(norm₂(F(norm₁(x))))         (Ding et al., 2021, CogView)
 * </pre>
 * Residual dropout (Vaswani et al., 2017, §5.4) zeroes single elements of the branch; stochastic
 * depth (Huang et al., 2016) drops a sample's whole branch, so the sublayer is the identity for
 * that sample (for POST, the norm of the identity). Both are seeded at construction and inactive
 * in evaluation mode.
 *
 * <p>With {@link BlockConfig#feedForwardChunkSize()} above 0 the feed-forward runs through {@link
 * ChunkedFeedForward#apply}, that many positions at a time (Kitaev et al., 2020, "Reformer", §3),
 * with the same outputs and gradients. {@link #reversible} gives the block's two branches as the F
 * and G of a {@link ReversibleBlock}, for a {@link TransformerEncoder} with reversible blocks.
 * With {@link BlockConfig#checkpointing()} {@link ActivationCheckpointing#HEAD} the attention
 * sublayers run their mechanisms one head at a time in training, each head recomputed on its own
 * in backward ({@link MultiHeadAttention} {@code checkpointHeads}); recomputing the whole block is
 * the stack's part ({@link BlockStack}).
 *
 * <p>The attention sublayer is a {@link MultiHeadAttention} around the given mechanism, which
 * applies the positional encoding's hooks 2 and 3; an incompatible pairing of mechanism and
 * encoding is rejected here, when the block is built, naming both. Parameters: {@code attention},
 * {@code feedForward} and the norms {@code attentionNorm}, {@code feedForwardNorm} (and for
 * SANDWICH {@code attentionOutputNorm}, {@code feedForwardOutputNorm}).
 *
 * <p>A decoder block of an encoder-decoder model (Vaswani et al., 2017, §3.1, "Decoder") has a
 * third sublayer between the two, cross-attention from the block's stream to the encoder's output
 * (the memory), with its own mechanism, no positional encoding and the same norm placement;
 * its parameters are {@code crossAttention} and {@code crossAttentionNorm} (and {@code
 * crossAttentionOutputNorm}). For incremental decoding {@link #forward(Tensor, AttentionContext,
 * KvCache, Memory)} feeds only the new positions and keeps the self-attention's keys and values in
 * a {@link KvCache}.
 */
public final class TransformerBlock extends Module {

    private final BlockConfig config;
    private final UnaryOperator<Tensor> attentionNorm;
    private final MultiHeadAttention attention;
    private final UnaryOperator<Tensor> attentionOutputNorm;
    private final UnaryOperator<Tensor> crossAttentionNorm;
    private final MultiHeadAttention crossAttention;
    private final UnaryOperator<Tensor> crossAttentionOutputNorm;
    private final UnaryOperator<Tensor> feedForwardNorm;
    private final FeedForward feedForward;
    private final UnaryOperator<Tensor> feedForwardOutputNorm;
    private final Dropout dropout;
    private final StochasticDepth dropPath;

    /**
     * The encoder's attention memory for the cross-attention sublayer of a decoder block.
     *
     * @param states  the encoder's output [batch, sourceLength, modelDim]
     * @param context its key padding mask [batch, sourceLength] (non-zero at padded source tokens) and
     *                attention dropout; never causal
     */
    public record Memory(Tensor states, AttentionContext context) {
        public Memory {
            if (states == null || context == null) {
                throw new IllegalArgumentException("TransformerBlock.Memory: states and context must not be null");
            }
            if (context.causal()) {
                throw new IllegalArgumentException("TransformerBlock.Memory: cross-attention over the encoder's "
                        + "output is not causal; the memory context must not be");
            }
        }

        /**
         * This memory with its rows rebuilt from {@code origins}, as {@link KvCache#reorder} does for beams;
         * itself when the origins keep every row in place.
         */
        public Memory reorder(int[] origins) {
            if (KvCache.keepsEveryRow(origins, states.size(0))) {
                return this;
            }
            Tensor mask = context.keyPaddingMask();
            return new Memory(states.indexSelect(0, origins), AttentionContext.builder()
                    .keyPaddingMask(mask == null ? null : mask.indexSelect(0, origins))
                    .dropout(context.dropout(), context.rng()).build());
        }
    }

    /**
     * An encoder block, or a decoder-only (GPT-style) block: self-attention and feed-forward.
     *
     * @param config     the architecture
     * @param mechanism  this block's own attention mechanism instance (initialised by {@link MultiHeadAttention})
     * @param positional an initialised positional encoding whose hooks 2 and 3 the attention applies, or null
     * @param rng        seeded generator for the weights and the seeds of the dropout and stochastic depth
     */
    public TransformerBlock(BlockConfig config, AttentionMechanism mechanism, PositionalEncoding positional,
                            RandomGenerator rng) {
        this(config, mechanism, null, positional, rng);
    }

    /**
     * A block with a cross-attention sublayer when {@code crossMechanism} is not null, the decoder
     * block of an encoder-decoder model.
     *
     * @param config         the architecture
     * @param mechanism      this block's own self-attention mechanism instance
     * @param crossMechanism this block's own cross-attention mechanism instance (it must declare
     *                       crossAttention and keyPaddingMask), or null for no cross-attention
     * @param positional     an initialised positional encoding for the self-attention's hooks 2 and 3, or null
     * @param rng            seeded generator for the weights and the seeds of the dropout and stochastic depth
     */
    public TransformerBlock(BlockConfig config, AttentionMechanism mechanism, AttentionMechanism crossMechanism,
                            PositionalEncoding positional, RandomGenerator rng) {
        if (config == null) {
            throw new IllegalArgumentException("TransformerBlock: config must not be null");
        }
        this.config = config;
        int dim = config.modelDim();
        boolean sandwich = config.placement() == NormPlacement.SANDWICH;
        this.attentionNorm = norm("attentionNorm", dim);
        boolean perHead = config.checkpointing() == ActivationCheckpointing.HEAD;
        this.attention = registerModule("attention",
                new MultiHeadAttention(dim, config.heads(), mechanism, positional, config.bias(), perHead, rng));
        this.attentionOutputNorm = sandwich ? norm("attentionOutputNorm", dim) : null;
        boolean cross = crossMechanism != null;
        this.crossAttentionNorm = cross ? norm("crossAttentionNorm", dim) : null;
        this.crossAttention = cross ? registerModule("crossAttention",
                new MultiHeadAttention(dim, config.heads(), crossMechanism, null, config.bias(), perHead, rng)) : null;
        this.crossAttentionOutputNorm = cross && sandwich ? norm("crossAttentionOutputNorm", dim) : null;
        this.feedForwardNorm = norm("feedForwardNorm", dim);
        this.feedForward = registerModule("feedForward",
                new FeedForward(dim, config.hidden(), config.activation(), config.bias(), 0f, rng));
        this.feedForwardOutputNorm = sandwich ? norm("feedForwardOutputNorm", dim) : null;
        this.dropout = registerModule("dropout", new Dropout(config.residualDropout(), rng.nextLong()));
        this.dropPath = registerModule("dropPath", new StochasticDepth(config.dropPath(), rng.nextLong()));
    }

    private UnaryOperator<Tensor> norm(String name, int dim) {
        NormKind.Norm norm = config.norm().create(dim);
        registerModule(name, norm.module());
        return norm.forward();
    }

    /**
     * @param x       [batch, length, modelDim]
     * @param context what the attention needs: key padding mask [batch, length], causal flag,
     *                bias, attention dropout
     * @return [batch, length, modelDim]
     */
    public Tensor forward(Tensor x, AttentionContext context) {
        return forward(x, context, null, null);
    }

    /**
     * The block over new positions, optionally continuing a {@link KvCache} and attending to an
     * encoder's memory.
     *
     * @param x       [batch, length, modelDim], the new positions
     * @param context the self-attention's context; with a cache its key padding mask and bias span the
     *                cached and new positions, as for {@link MultiHeadAttention#selfAttentionStep(Tensor,
     *                AttentionContext, KvCache)}
     * @param cache   this block's self-attention cache, extended in place, or null to attend only within {@code x}
     * @param memory  the encoder's output, required exactly when the block has cross-attention
     * @return [batch, length, modelDim]
     */
    public Tensor forward(Tensor x, AttentionContext context, KvCache cache, Memory memory) {
        return forward(x, context, cache, memory, null);
    }

    /**
     * {@link #forward(Tensor, AttentionContext, KvCache, Memory)} with the cross-attention's keys and
     * values of the memory projected once and kept in {@code memoryCache} (see {@link
     * MultiHeadAttention#crossAttentionStep(Tensor, Tensor, AttentionContext, KvCache)}), for incremental decoding.
     *
     * @param memoryCache this block's cross-attention cache, or null to project the memory on every call
     */
    public Tensor forward(Tensor x, AttentionContext context, KvCache cache, Memory memory, KvCache memoryCache) {
        if ((memory != null) != (crossAttention != null)) {
            throw new IllegalArgumentException("TransformerBlock: " + (crossAttention != null
                    ? "a block with cross-attention needs the encoder's memory" : "a block without cross-attention "
                    + "takes no memory"));
        }
        Tensor h = sublayer(x, attentionNorm, attentionOutputNorm, in -> cache == null
                ? attention.selfAttention(in, context) : attention.selfAttentionStep(in, context, cache));
        if (memory != null) {
            h = sublayer(h, crossAttentionNorm, crossAttentionOutputNorm,
                    in -> memoryCache == null ? crossAttention.crossAttention(in, memory.states(), memory.context())
                            : crossAttention.crossAttentionStep(in, memory.states(), memory.context(), memoryCache));
        }
        return sublayer(h, feedForwardNorm, feedForwardOutputNorm, this::feedForward);
    }

    /**
     * This block as a reversible block (Kitaev et al., 2020, "Reformer", §3) for one forward pass:
     * F(x) = attention(attentionNorm(x)) with {@code context}, G(x) = feedForward(feedForwardNorm(x)),
     * the branches of the pre-norm sublayers, so y1 = x1 + F(x2), y2 = x2 + G(y1). Its parameters
     * are this block's, registered under {@code block}. Only for PRE placement without dropout or
     * stochastic depth, which {@link EncoderConfig} checks for reversible encoders.
     */
    ReversibleBlock reversible(AttentionContext context) {
        return new ReversibleBlock() {
            {
                registerModule("block", TransformerBlock.this);
            }

            @Override
            protected Tensor f(Tensor x) {
                return attention.selfAttention(attentionNorm.apply(x), context);
            }

            @Override
            protected Tensor g(Tensor x) {
                return feedForward(feedForwardNorm.apply(x));
            }
        };
    }

    /** The feed-forward [..., modelDim] → [..., modelDim], in chunks of positions when configured. */
    private Tensor feedForward(Tensor x) {
        int chunkSize = config.feedForwardChunkSize();
        return chunkSize == 0 ? feedForward.forward(x)
                : ChunkedFeedForward.apply(x, feedForward::forward, feedForward.parameters(), chunkSize);
    }

    /**
     * The attention weights of the attention sublayer on the input it sees: norm(x) for
     * PRE and SANDWICH, x for POST; see {@link MultiHeadAttention#attentionWeights}. No graph is
     * recorded.
     *
     * @param x       [batch, length, modelDim], this block's input
     * @param context as for {@link #forward}
     * @return [batch, heads, length, length]
     */
    public Tensor attentionWeights(Tensor x, AttentionContext context) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor in = config.placement() == NormPlacement.POST ? x : attentionNorm.apply(x);
            return attention.attentionWeights(in, context);
        }
    }

    /** One residual sublayer F with the configured norm placement. */
    private Tensor sublayer(Tensor x, UnaryOperator<Tensor> norm, UnaryOperator<Tensor> outputNorm,
                            UnaryOperator<Tensor> f) {
        return switch (config.placement()) {
            case PRE -> x.add(residual(f.apply(norm.apply(x))));
            case POST -> norm.apply(x.add(residual(f.apply(x))));
            case SANDWICH -> x.add(residual(outputNorm.apply(f.apply(norm.apply(x)))));
        };
    }

    /** R(b): residual dropout, then stochastic depth, on a branch before it joins the stream. */
    private Tensor residual(Tensor branch) {
        return dropPath.forward(dropout.forward(branch));
    }

    /** The architecture of this block. */
    public BlockConfig config() {
        return config;
    }

    /** The attention sublayer. */
    public MultiHeadAttention attention() {
        return attention;
    }

    /**
     * The name of the self-attention mechanism, for messages: its registered ({@code @ComponentInfo})
     * name, or its class's simple name.
     */
    public String mechanismName() {
        return nameOf(attention.mechanism());
    }

    /** The registered ({@code @ComponentInfo}) name of {@code component}, or its class's simple name. */
    static String nameOf(Object component) {
        ComponentInfo info = component.getClass().getAnnotation(ComponentInfo.class);
        return info == null ? component.getClass().getSimpleName() : info.name();
    }

    /** The cross-attention sublayer, or null for a block without one. */
    public MultiHeadAttention crossAttention() {
        return crossAttention;
    }

    /** The feed-forward sublayer. */
    public FeedForward feedForward() {
        return feedForward;
    }
}
