package org.xformers4j.models.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.ReplayableRandom;
import org.xformers4j.tensor.Tensor;

/**
 * A causal Transformer decoder from token ids to next-token logits, the GPT language model
 * (Radford et al., 2018, "Improving Language Understanding by Generative Pre-Training") and, with
 * cross-attention, the decoder of an encoder-decoder model (Vaswani et al., 2017, §3.1):
 * <pre>
 *   ids [B, L] → token embeddings E[ids] + positions (hook 1) → N × causal TransformerBlock
 *     (self-attention with hooks 2 and 3, [cross-attention over the memory,] feed-forward)
 *     → final norm (pre- and sandwich-norm) → states [B, L, D] → logits [B, L, V]
 * </pre>
 * The logits are h Eᵀ with tied embeddings (Press and Wolf, 2017), otherwise an output projection
 * {@code output} without bias. The embedding table {@code tokenEmbedding} [V, D] is initialised
 * from N(0, 0.02²) as GPT-2's and takes no weight decay.
 *
 * <p>Incremental decoding. {@link #states} takes the positions it embeds from {@code offset}, and
 * with one {@link KvCache} per block ({@link #newCaches()}) feeds only new tokens: a prompt and then
 * one token at a time give the states of one pass over the whole sequence, for mechanisms that
 * declare incrementalDecoding ({@link #cachesKeysAndValues()}). Others recompute the prefix. A cache
 * holds the keys and values of every position, or, for a mechanism that decodes as a recurrent
 * network (the kernel attentions, {@code RecurrentAttention}), a state of one size however long the
 * sequence grows.
 *
 * <p>Activation checkpointing ({@link BlockConfig#checkpointing()}, {@link ActivationCheckpointing};
 * Chen et al., 2016): in training without caches, each block keeps only its input (and the memory
 * it attends to) and is recomputed in the backward pass ({@code BLOCK}), each attention head also
 * on its own ({@code HEAD}), with the loss and gradients of the ordinary stack. Decoding with caches
 * runs the blocks as they are.
 *
 * <p>Parameter names: {@code tokenEmbedding}, {@code positional…}, {@code blocks.0.attention.query.weight},
 * …, {@code finalNorm.weight}, {@code output.weight}; parameters that mechanisms share across the blocks
 * under {@code blocks.attentionShared} and {@code blocks.crossAttentionShared} (see
 * {@link org.xformers4j.component.attention.StackAware}).
 */
public final class TransformerDecoder extends Module {

    private final DecoderConfig config;
    private final int modelDim;
    private final Tensor tokenEmbedding;
    private final PositionalEncoding positional;
    private final BlockStack blocks;
    private final NormKind.Norm finalNorm;
    private final Linear output;
    private final RandomGenerator attentionRng;
    private final boolean cachesKeysAndValues;

    /**
     * @param config          the architecture
     * @param mechanisms      a new, distinct self-attention mechanism on every call, one per block;
     *                        each must declare causal
     * @param crossMechanisms a new, distinct cross-attention mechanism on every call when the config has
     *                        cross-attention, otherwise null
     * @param positional      a positional encoding, not yet initialised, or null for none
     * @param rng             seeded generator for every weight and the dropout seeds
     */
    public TransformerDecoder(DecoderConfig config, Supplier<? extends AttentionMechanism> mechanisms,
                              Supplier<? extends AttentionMechanism> crossMechanisms, PositionalEncoding positional,
                              RandomGenerator rng) {
        if (config == null || mechanisms == null || rng == null) {
            throw new IllegalArgumentException("TransformerDecoder: config, mechanisms and rng must not be null, got "
                    + config + ", " + mechanisms + ", " + rng);
        }
        if (config.crossAttention() != (crossMechanisms != null)) {
            throw new IllegalArgumentException("TransformerDecoder: crossMechanisms must be given exactly when the "
                    + "config has cross-attention (crossAttention = " + config.crossAttention() + ")");
        }
        BlockConfig block = config.block();
        this.config = config;
        this.modelDim = block.modelDim();
        this.tokenEmbedding = registerParameter("tokenEmbedding",
                Init.normal(rng, 0f, 0.02f, config.vocabularySize(), modelDim), false);
        this.positional = positional;
        if (positional != null) {
            positional.initialize(modelDim, block.heads(), rng);
            if (positional instanceof Module m) {
                registerModule("positional", m);
            }
        }
        this.blocks = registerModule("blocks", new BlockStack("TransformerDecoder", block, config.layers(),
                mechanisms, crossMechanisms, positional, rng));
        boolean incremental = true;
        for (TransformerBlock b : blocks.all()) {
            AttentionCapabilities capabilities = ComponentDescriptor.of(b.attention().mechanism().getClass())
                    .capabilities(AttentionCapabilities.class);
            if (!capabilities.causal()) {
                throw new IllegalArgumentException("TransformerDecoder: attention mechanism '"
                        + ComponentDescriptor.of(b.attention().mechanism().getClass()).name()
                        + "' is not causal (capability causal is false), so it cannot be a language model's attention");
            }
            incremental &= capabilities.incrementalDecoding();
        }
        this.cachesKeysAndValues = incremental;
        this.finalNorm = block.placement().needsFinalNorm() ? block.norm().create(modelDim) : null;
        if (finalNorm != null) {
            registerModule("finalNorm", finalNorm.module());
        }
        this.output = config.tiedEmbeddings() ? null
                : registerModule("output", new Linear(modelDim, config.vocabularySize(), false, rng));
        this.attentionRng = new ReplayableRandom(rng.nextLong());
    }

    /**
     * The final states of {@code tokens} at positions {@code offset} … {@code offset + L - 1}.
     *
     * @param tokens rows of equal length L ≥ 1, ids in [0, vocabularySize)
     * @param offset the position of the first token: 0, or with caches their length
     * @param caches one cache per block from {@link #newCaches()}, extended in place, or null to attend only
     *               within {@code tokens}
     * @param memory the encoder's output, exactly when the decoder has cross-attention
     * @return [B, L, modelDim]
     */
    public Tensor states(int[][] tokens, int offset, KvCache[] caches, TransformerBlock.Memory memory) {
        return states(tokens, offset, caches, memory, null);
    }

    /**
     * {@link #states(int[][], int, KvCache[], TransformerBlock.Memory)} with each block's
     * cross-attention keys and values of the memory projected once, into {@code memoryCaches}
     * (one per block from {@link #newCaches()}, filled by the first call), or projected on every call
     * when null.
     */
    public Tensor states(int[][] tokens, int offset, KvCache[] caches, TransformerBlock.Memory memory,
                         KvCache[] memoryCaches) {
        if (memoryCaches != null && (memory == null || memoryCaches.length != blocks.size())) {
            throw new IllegalArgumentException("TransformerDecoder: memoryCaches must be " + blocks.size()
                    + " caches, for a decoder with cross-attention given its memory");
        }
        if (caches != null) {
            if (!cachesKeysAndValues) {
                throw new IllegalArgumentException("TransformerDecoder: an attention mechanism of this decoder does "
                        + "not declare incrementalDecoding, so it cannot decode with KV caches");
            }
            if (caches.length != blocks.size() || caches[0].length() != offset) {
                throw new IllegalArgumentException("TransformerDecoder: caches must be " + blocks.size() + " caches "
                        + "holding the " + offset + " positions before offset, got " + caches.length
                        + " holding " + (caches.length == 0 ? 0 : caches[0].length()));
            }
        }
        Tensor x = positioned(tokens, offset);
        AttentionContext context = selfAttentionContext();
        for (int l = 0; l < blocks.size(); l++) {
            x = caches == null && memoryCaches == null ? blocks.forward(l, x, context, memory)
                    : blocks.get(l).forward(x, context, caches == null ? null : caches[l], memory,
                            memoryCaches == null ? null : memoryCaches[l]);
        }
        return finalNorm == null ? x : finalNorm.forward().apply(x);
    }

    /** The token embeddings of {@code tokens} with positions from {@code offset} added (hook 1). */
    private Tensor positioned(int[][] tokens, int offset) {
        Tensor x = embed(tokens);
        return positional == null ? x : positional.addToEmbeddings(x, offset);
    }

    /** The blocks' causal self-attention context, with the configured attention dropout. */
    private AttentionContext selfAttentionContext() {
        return AttentionContext.builder().causal(true).dropout(config.attentionDropout(), attentionRng).build();
    }

    /**
     * The causal self-attention weights of every block on {@code tokens} from position 0, collected
     * while running the blocks in evaluation mode without recording a graph: entry l is block l's
     * {@link TransformerBlock#attentionWeights} on its input, as {@link #forward} computes it. For
     * attention maps (Vig, 2019, BertViz). The decoder's training mode is restored afterwards.
     *
     * @param tokens rows of equal length L ≥ 1, ids in [0, vocabularySize)
     * @param memory the encoder's output, exactly when the decoder has cross-attention
     * @return per block [batch, heads, L, L], zero above the diagonal
     */
    public List<Tensor> attentionWeights(int[][] tokens, TransformerBlock.Memory memory) {
        boolean training = isTraining();
        if (training) {
            eval();
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor x = positioned(tokens, 0);
            AttentionContext context = selfAttentionContext();
            List<Tensor> weights = new ArrayList<>(blocks.size());
            for (int l = 0; l < blocks.size(); l++) {
                weights.add(blocks.get(l).attentionWeights(x, context));
                x = l + 1 == blocks.size() ? x : blocks.get(l).forward(x, context, null, memory);
            }
            return weights;
        } finally {
            if (training) {
                train();
            }
        }
    }

    /** Next-token logits of {@code states} [..., modelDim]: [..., vocabularySize]. */
    public Tensor logits(Tensor states) {
        return output != null ? output.forward(states) : states.matmul(tokenEmbedding, false, true);
    }

    /** Logits [B, L, vocabularySize] of one causal pass over {@code tokens} [B, L]; see {@link #states}. */
    public Tensor forward(int[][] tokens, TransformerBlock.Memory memory) {
        return logits(states(tokens, 0, null, memory));
    }

    /**
     * Token embeddings without positions, [B, L, modelDim]; an encoder sharing this decoder's table
     * embeds its source with it.
     *
     * @throws IllegalArgumentException naming the row and position of a token outside the vocabulary, or
     *                                  rows of different or zero length
     */
    public Tensor embed(int[][] tokens) {
        if (tokens == null || tokens.length == 0 || tokens[0] == null || tokens[0].length == 0) {
            throw new IllegalArgumentException("TransformerDecoder: tokens must be at least one non-empty row");
        }
        int length = tokens[0].length;
        int[] ids = new int[tokens.length * length];
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b] == null || tokens[b].length != length) {
                throw new IllegalArgumentException("TransformerDecoder: token rows must all have length " + length
                        + ", row " + b + " has " + (tokens[b] == null ? "none" : tokens[b].length));
            }
            for (int i = 0; i < length; i++) {
                int id = tokens[b][i];
                if (id < 0 || id >= config.vocabularySize()) {
                    throw new IllegalArgumentException("TransformerDecoder: token " + id + " at row " + b
                            + ", position " + i + " is outside the vocabulary of " + config.vocabularySize());
                }
            }
            System.arraycopy(tokens[b], 0, ids, b * length, length);
        }
        return Functional.embedding(tokenEmbedding, ids, tokens.length, length);
    }

    /** One empty cache per block, for {@link #states} with incremental decoding. */
    public KvCache[] newCaches() {
        KvCache[] caches = new KvCache[blocks.size()];
        Arrays.setAll(caches, i -> new KvCache());
        return caches;
    }

    /** Whether every block's mechanism declares incrementalDecoding, so {@link #states} accepts caches. */
    public boolean cachesKeysAndValues() {
        return cachesKeysAndValues;
    }

    /** The architecture. */
    public DecoderConfig config() {
        return config;
    }

    /** Block {@code index}, 0-based. */
    public TransformerBlock block(int index) {
        return blocks.get(index);
    }
}
