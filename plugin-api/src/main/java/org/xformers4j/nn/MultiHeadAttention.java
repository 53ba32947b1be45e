package org.xformers4j.nn;

import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.ActivationCheckpoint;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

/**
 * Multi-head attention (Vaswani et al., 2017, "Attention Is All You Need", §3.2.2) around a
 * pluggable {@link AttentionMechanism}:
 * <pre>
 *   MultiHead(X_q, X_kv) = Concat(head_1, …, head_h) W_O
 *   head_i = Mechanism(X_q W_Q,i, X_kv W_K,i, X_kv W_V,i)
 * </pre>
 * The layer owns the projections, the head split and merge, the positional hooks and the
 * decoding cache ({@link KvCache}: keys and values, or the recurrent state of a mechanism that
 * implements {@link RecurrentAttention}); the mechanism computes the per-head attention. Parameters are the {@link Linear} layers
 * {@code query}, {@code key}, {@code value} and {@code output}, each [outFeatures, modelDim];
 * a mechanism or positional encoding that is a {@link Module} is registered as the submodule
 * {@code mechanism} or {@code positional}.
 *
 * <p>The layer has four operations: {@link #selfAttention} and {@link #crossAttention}, and for
 * incremental decoding with a cache {@link #selfAttentionStep} and {@link #crossAttentionStep}.
 * Which operation is called decides between self- and cross-attention, never whether two
 * arguments are the same tensor.
 *
 * <p>What the mechanism declares in its {@link AttentionCapabilities} shapes the layer:
 * <ul>
 *   <li>{@code sharedQueryKey}: one projection {@code queryKey} produces both the queries and
 *       the keys, and the mechanism receives the same tensor as both (Kitaev et al., 2020,
 *       "Reformer: The Efficient Transformer", §2).</li>
 *   <li>{@link AttentionMechanism#keyValueHeads(int)} below the number of heads: the key and
 *       value projections produce only that many heads ([keyValueHeads·headDim, modelDim]), for
 *       multi-query (Shazeer, 2019) and grouped-query attention (Ainslie et al., 2023); the
 *       mechanism shares them among the query heads.</li>
 *   <li>The other flags are checked on every call: cross-attention, a causal context, a key
 *       padding mask, an additive bias and incremental decoding that the mechanism does not
 *       support raise {@link IllegalArgumentException} naming the mechanism and the request.</li>
 * </ul>
 *
 * <p>Positional encodings plug in through their hooks 2 and 3 only, and only those they declare
 * in {@link PositionalCapabilities}: {@link PositionalEncoding#rotateQueryKey} rotates the split
 * queries and keys (rotary, xPos), {@link PositionalEncoding#attentionBias} adds a bias to the
 * scores (ALiBi, T5), summed with any bias in the context. Hook 1 (adding to the embeddings)
 * belongs to the embedding stage: an encoding that only adds to the embeddings is accepted here
 * and does nothing in the layer. Pairings are checked when the layer is constructed: an encoding
 * that produces a bias needs a mechanism that declares {@code additiveBias}, otherwise the
 * constructor throws {@link IllegalArgumentException} naming both components. With a shared
 * query-key projection in self-attention the queries are the keys at the same positions, so the
 * layer rotates them once ({@code rotateQueryKey(q, q, offset, offset)[0]}) and passes that one
 * tensor as both; for xPos this applies the query scaling to the keys too, which a mechanism that
 * normalises its keys, as LSH attention does, removes again. The layer does not call
 * {@link PositionalEncoding#initialize}: the owning model initialises the encoding once, with the
 * model width, because one encoding often serves the embeddings and every layer. Positions count
 * from 0 in the query sequence and in the key sequence, and from the cached length when decoding
 * incrementally; a cross-attention layer normally gets no positional encoding.
 *
 * <p>In evaluation mode the context's attention dropout is not applied.
 *
 * <p>Checkpointing per head (level C2 of the Linformer reference code, linformer-pytorch's {@code
 * checkpoint_level}). A layer built with {@code checkpointHeads} runs the mechanism one head at a
 * time in training mode, without a cache, each head under {@link ActivationCheckpoint}: the
 * backward pass keeps only the head's query, key and value slices and recomputes its attention
 * when its gradient arrives, so the mechanism's internals (an N×N score matrix) are held for one
 * head at a time. It needs a mechanism whose heads are independent ({@link
 * AttentionMechanism#headsIndependent()}, checked at construction), and refuses attention dropout
 * in training, whose masks are drawn for all heads at once. Outputs and gradients are those of
 * the layer without it, to float32 rounding. In evaluation mode and with a cache the mechanism
 * runs on all heads at once.
 */
public final class MultiHeadAttention extends Module {

    private final int modelDim;
    private final int heads;
    private final int keyValueHeads;
    private final int headDim;
    private final AttentionMechanism mechanism;
    private final String mechanismName;
    private final AttentionCapabilities capabilities;
    private final PositionalEncoding positional;
    private final boolean rotates;
    private final boolean biases;
    private final Linear queryProjection;
    private final Linear keyProjection;
    private final Linear valueProjection;
    private final Linear outputProjection;
    private final boolean checkpointHeads;

    /**
     * @param modelDim   model width, the inputs' and output's last dimension; a multiple of {@code heads}
     * @param heads      number of query heads
     * @param mechanism  per-head attention, annotated with {@link AttentionCapabilities}; initialised
     *                   here with {@code (heads, modelDim / heads, rng)}
     * @param positional an initialised positional encoding whose hooks 2 and 3 the layer applies, or null
     * @param bias       whether the four projections have biases
     * @param rng        seeded generator for the projection weights and the mechanism's parameters
     */
    public MultiHeadAttention(int modelDim, int heads, AttentionMechanism mechanism, PositionalEncoding positional,
                              boolean bias, RandomGenerator rng) {
        this(modelDim, heads, mechanism, positional, bias, false, rng);
    }

    /**
     * A layer that, with {@code checkpointHeads}, runs the mechanism one head at a time in training,
     * recomputing each head's attention in the backward pass (see the class comment).
     *
     * @param checkpointHeads whether to checkpoint each head; needs {@link AttentionMechanism#headsIndependent()}
     * @see #MultiHeadAttention(int, int, AttentionMechanism, PositionalEncoding, boolean, RandomGenerator)
     */
    public MultiHeadAttention(int modelDim, int heads, AttentionMechanism mechanism, PositionalEncoding positional,
                              boolean bias, boolean checkpointHeads, RandomGenerator rng) {
        Args.positive("MultiHeadAttention", "modelDim", modelDim);
        Args.positive("MultiHeadAttention", "heads", heads);
        if (modelDim % heads != 0) {
            throw new IllegalArgumentException("MultiHeadAttention: modelDim " + modelDim + " is not a multiple of heads "
                    + heads);
        }
        if (mechanism == null) {
            throw new IllegalArgumentException("MultiHeadAttention: mechanism must not be null");
        }
        ComponentDescriptor descriptor = ComponentDescriptor.of(mechanism.getClass());
        this.modelDim = modelDim;
        this.heads = heads;
        this.headDim = modelDim / heads;
        this.mechanism = mechanism;
        this.mechanismName = descriptor.name();
        this.capabilities = descriptor.capabilities(AttentionCapabilities.class);
        this.keyValueHeads = mechanism.keyValueHeads(heads);
        if (keyValueHeads <= 0 || heads % keyValueHeads != 0) {
            throw new IllegalArgumentException(prefix() + "keyValueHeads " + keyValueHeads + " for " + heads
                    + " heads must be a positive divisor of heads");
        }
        if (capabilities.sharedQueryKey() && keyValueHeads != heads) {
            throw new IllegalArgumentException(prefix() + "shares the query-key projection, so it needs as many key heads "
                    + "as query heads, but declares keyValueHeads " + keyValueHeads + " for " + heads + " heads");
        }
        if (checkpointHeads && !mechanism.headsIndependent()) {
            throw new IllegalArgumentException(prefix() + "cannot be checkpointed one head at a time: its heads are "
                    + "not independent computations (headsIndependent() is false)");
        }
        this.checkpointHeads = checkpointHeads;
        this.positional = positional;
        PositionalCapabilities hooks = positional == null ? null
                : ComponentDescriptor.of(positional.getClass()).capabilities(PositionalCapabilities.class);
        this.rotates = hooks != null && hooks.rotatesQueryKey();
        this.biases = hooks != null && hooks.attentionBias();
        if (biases && !capabilities.additiveBias()) {
            throw new IllegalArgumentException("MultiHeadAttention: positional encoding '"
                    + ComponentDescriptor.of(positional.getClass()).name() + "' produces an attention bias, which "
                    + "attention mechanism '" + mechanismName + "' does not accept (additiveBias is false)");
        }

        int keyValueDim = keyValueHeads * headDim;
        if (capabilities.sharedQueryKey()) {
            this.queryProjection = registerModule("queryKey", new Linear(modelDim, modelDim, bias, rng));
            this.keyProjection = null;
        } else {
            this.queryProjection = registerModule("query", new Linear(modelDim, modelDim, bias, rng));
            this.keyProjection = registerModule("key", new Linear(modelDim, keyValueDim, bias, rng));
        }
        this.valueProjection = registerModule("value", new Linear(modelDim, keyValueDim, bias, rng));
        if (positional instanceof Module m) {
            registerModule("positional", m);
        }
        mechanism.initialize(heads, headDim, headDim, rng);
        if (mechanism instanceof Module m) {
            registerModule("mechanism", m);
        }
        this.outputProjection = registerModule("output", new Linear(modelDim, modelDim, bias, rng));
    }

    /**
     * Self-attention of {@code x}: its queries, keys and values all come from {@code x}.
     *
     * @param x       [batch, length, modelDim]
     * @param context mask, causal flag, bias [.., length, length] and dropout
     * @return [batch, length, modelDim]
     */
    public Tensor selfAttention(Tensor x, AttentionContext context) {
        checkInput("x", x);
        return uncached(x, x, true, context);
    }

    /**
     * Cross-attention of {@code query} over {@code memory} (an encoder's output, say): the queries
     * come from {@code query}, the keys and values from {@code memory}. It needs a mechanism that
     * declares {@code crossAttention}, whatever tensor {@code memory} is: given {@code query}
     * itself it is still cross-attention, with the keys projected apart from the queries.
     *
     * @param query   [batch, queryLength, modelDim]
     * @param memory  [batch, keyLength, modelDim]
     * @param context mask, causal flag, bias [.., queryLength, keyLength] and dropout
     * @return [batch, queryLength, modelDim]
     */
    public Tensor crossAttention(Tensor query, Tensor memory, AttentionContext context) {
        checkCross(query, memory);
        return uncached(query, memory, false, context);
    }

    /** Self- or cross-attention without a cache, after the checks of the inputs. */
    private Tensor uncached(Tensor query, Tensor keyValue, boolean self, AttentionContext context) {
        AttentionContext effective = prepare(context, query.size(0), query.size(1), keyValue.size(1), 0);
        Tensor[] qkv = project(query, keyValue, self, 0);
        return attendUncached(qkv[0], qkv[1], qkv[2], effective);
    }

    /**
     * One step of incremental self-attention decoding: projects the new tokens, rotates their
     * queries and keys at their absolute positions (from {@code cache.length()}), and attends from
     * the new queries over every cached position and the new ones. With a causal context the
     * queries are aligned to the end of the keys, so feeding a sequence in pieces gives the outputs
     * of one causal {@link #selfAttention(Tensor, AttentionContext)} over the whole of it.
     *
     * <p>What the cache keeps depends on the mechanism. By default the new keys and values are
     * appended to it and the mechanism attends over all of them. A mechanism that implements
     * {@link RecurrentAttention} instead continues the recurrent state the cache holds with the new
     * positions ({@link RecurrentAttention#step}) and the cache keeps the new state, whose size
     * does not grow with the positions (the "RNN view" of kernel attention). Its key padding mask
     * spans the cached and new positions as usual, but the state left a padded key out when the key
     * was added, so the mask's columns of cached positions must mark as many keys of each row as
     * they did then (checked per row); an additive bias (from the context or a positional
     * encoding's hook 3) cannot apply to positions whose scores were never kept, and is refused
     * with {@link IllegalArgumentException}.
     *
     * @param newTokens the new tokens [batch, newLength, modelDim]
     * @param context   as for {@link #selfAttention(Tensor, AttentionContext)}, with keys spanning
     *                  the cached and new positions: a key padding mask is [batch, cache.length() +
     *                  newLength], a bias broadcastable to [batch, heads, newLength, cache.length() + newLength]
     * @param cache     this layer's cache, extended in place
     * @return [batch, newLength, modelDim]
     */
    public Tensor selfAttentionStep(Tensor newTokens, AttentionContext context, KvCache cache) {
        require(capabilities.incrementalDecoding(), "incremental decoding with a KV cache", "incrementalDecoding");
        checkInput("newTokens", newTokens);
        if (cache == null) {
            throw new IllegalArgumentException(prefix() + "needs a KvCache for incremental decoding, got null");
        }
        int past = cache.length();
        AttentionContext effective = prepare(context, newTokens.size(0), newTokens.size(1),
                past + newTokens.size(1), past);
        if (mechanism instanceof RecurrentAttention recurrent) {
            return attendRecurrent(recurrent, newTokens, effective, cache);
        }
        Tensor[] qkv = project(newTokens, newTokens, true, past);
        Tensor[] all = cache.append(qkv[1], qkv[2]);
        return attend(qkv[0], all[0], all[1], effective);
    }

    /** The recurrent path of {@link #selfAttentionStep}: one step of the mechanism's state. */
    private Tensor attendRecurrent(RecurrentAttention recurrent, Tensor query, AttentionContext context, KvCache cache) {
        if (context.bias() != null) {
            throw new IllegalArgumentException(prefix() + "decodes with a recurrent state, which keeps no scores of "
                    + "the cached positions to add a bias to; decode without a bias");
        }
        int batch = query.size(0);
        int newLength = query.size(1);
        int past = cache.length();
        Tensor newMask = cache.newKeyPaddingMask(context.keyPaddingMask(), batch, newLength);
        Tensor[] qkv = project(query, query, true, past);
        AttentionContext stepContext = AttentionContext.builder().causal(context.causal()).keyPaddingMask(newMask)
                .dropout(context.dropout(), context.rng()).build();
        RecurrentAttention.Step step = recurrent.step(qkv[0], qkv[1], qkv[2], stepContext, cache.state());
        Tensor out = merge(step.output(), batch, newLength);
        cache.advance(step.state(), newLength, newMask);
        return out;
    }

    /**
     * Cross-attention during incremental decoding, with the keys and values of the unchanging
     * {@code memory} (an encoder's output) projected once: a call with an empty {@code cache}
     * projects them and keeps them there, and later calls attend over the cached ones without
     * projecting {@code memory} again. Reorder the cache with the rows of the batch
     * ({@link KvCache#reorder}) as beam search reorders hypotheses, and the memory with it. Gives the
     * outputs of {@link #crossAttention(Tensor, Tensor, AttentionContext)}, and needs the same
     * capability.
     *
     * @param query   the new positions [batch, queryLength, modelDim]
     * @param memory  the memory [batch, keyLength, modelDim], its rows in the order of the cache's
     * @param context as for {@link #crossAttention(Tensor, Tensor, AttentionContext)}
     * @param cache   this layer's cross-attention cache, filled by the first call
     * @return [batch, queryLength, modelDim]
     */
    public Tensor crossAttentionStep(Tensor query, Tensor memory, AttentionContext context, KvCache cache) {
        checkCross(query, memory);
        if (cache == null) {
            throw new IllegalArgumentException(prefix() + "needs a KvCache for cached cross-attention, got null");
        }
        if (cache.state() != null) {
            throw new IllegalArgumentException(prefix() + "cached cross-attention keeps the memory's keys and values, "
                    + "but got " + cache + "; was the cache filled by a self-attention layer?");
        }
        if (cache.length() > 0 && (cache.keys().size(0) != query.size(0) || cache.length() != memory.size(1))) {
            throw new IllegalArgumentException(prefix() + "query " + Arrays.toString(query.shape()) + ", memory "
                    + Arrays.toString(memory.shape()) + " and the cross-attention " + cache + " must agree in batch "
                    + "and key length; was the cache reordered with the rows?");
        }
        if (rotates) {
            throw new IllegalArgumentException(prefix() + "cached cross-attention needs a layer whose positional "
                    + "encoding does not rotate queries and keys");
        }
        AttentionContext effective = prepare(context, query.size(0), query.size(1), memory.size(1), 0);
        if (cache.length() == 0) {
            Tensor[] qkv = project(query, memory, false, 0);
            cache.append(qkv[1], qkv[2]);
            return attend(qkv[0], qkv[1], qkv[2], effective);
        }
        return attend(split(queryProjection.forward(query), heads), cache.keys(), cache.values(), effective);
    }

    /** The shapes and the capability of cross-attention of {@code query} over {@code memory}. */
    private void checkCross(Tensor query, Tensor memory) {
        checkInput("query", query);
        checkInput("memory", memory);
        if (memory.size(0) != query.size(0)) {
            throw new IllegalArgumentException(prefix() + "query " + Arrays.toString(query.shape()) + " and memory "
                    + Arrays.toString(memory.shape()) + " have different batch sizes");
        }
        require(capabilities.crossAttention(), "cross-attention", "crossAttention");
    }

    /**
     * The attention weights of this layer's self-attention of {@code x}, for attention maps and
     * explanations such as attention rollout: the weights the mechanism's forward applies to the
     * values of each head ({@link WeightedAttention#attentionWeights}), given the queries and keys
     * of this layer's projections and positional hooks 2 and 3, exactly as {@link #selfAttention}
     * passes them, so that {@code weights · v} per head is the mechanism's output. Key and value
     * heads shared among query heads are the mechanism's to repeat. Attention dropout is not
     * applied and no graph is recorded.
     *
     * @param x       [batch, length, modelDim]
     * @param context key padding mask [batch, length], causal flag and bias, as for {@link #selfAttention}
     * @return [batch, heads, length, length]; for softmax attention each row sums to 1 over the keys
     *         it may attend to, with masked keys at 0 and rows whose every key is masked all 0
     * @throws IllegalArgumentException when the mechanism does not report its weights (is not a
     *                                  {@link WeightedAttention}; see {@link #reportsWeights()})
     */
    public Tensor attentionWeights(Tensor x, AttentionContext context) {
        checkInput("x", x);
        if (!(mechanism instanceof WeightedAttention weighted)) {
            throw new IllegalArgumentException(prefix() + "does not report attention weights: its output is not a "
                    + "weighted sum of the values it can give the weights of (it does not implement WeightedAttention)");
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            AttentionContext effective = prepare(context, x.size(0), x.size(1), x.size(1), 0);
            Tensor[] qkv = project(x, x, true, 0);
            return weighted.attentionWeights(qkv[0], qkv[1], effective);
        }
    }

    /** Whether {@link #attentionWeights} can answer: the mechanism is a {@link WeightedAttention}. */
    public boolean reportsWeights() {
        return mechanism instanceof WeightedAttention;
    }

    /**
     * The projections, the head split and hook 2: {q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv,
     * Lk, D]}, queries and keys rotated at positions from {@code offset}. {@code self} says whether
     * {@code keyValue} is the query's own sequence (self-attention, {@code keyValue} is then {@code
     * query}) or a memory (cross-attention); it is never inferred from the tensors. With a shared
     * query-key projection and self-attention, k is the tensor q, rotated once as the queries; in
     * cross-attention the shared projection is applied to the memory apart.
     */
    private Tensor[] project(Tensor query, Tensor keyValue, boolean self, int offset) {
        boolean keysAreQueries = self && keyProjection == null;
        Tensor q = split(queryProjection.forward(query), heads);
        Tensor k = keysAreQueries ? q : split((keyProjection != null ? keyProjection : queryProjection)
                .forward(keyValue), keyValueHeads);
        Tensor v = split(valueProjection.forward(keyValue), keyValueHeads);
        if (rotates && keysAreQueries) {
            q = positional.rotateQueryKey(q, q, offset, offset)[0];
            k = q;
        } else if (rotates) {
            Tensor[] rotated = positional.rotateQueryKey(q, k, offset, offset);
            q = rotated[0];
            k = rotated[1];
        }
        return new Tensor[] {q, k, v};
    }

    /**
     * Hook 3 and the capability checks, before anything is computed or cached: the context the
     * mechanism receives for queries at positions from {@code queryOffset} over {@code keyLength}
     * keys, with the positional bias added and dropout removed in evaluation mode.
     */
    private AttentionContext prepare(AttentionContext context, int batch, int queryLength, int keyLength,
                                     int queryOffset) {
        Tensor bias = context.bias();
        if (biases) {
            Tensor positionBias = positional.attentionBias(heads, queryLength, keyLength, queryOffset,
                    context.causal());
            if (positionBias != null) {
                bias = bias == null ? positionBias : bias.add(positionBias);
            }
        }
        require(!context.causal() || capabilities.causal(), "a causal context", "causal");
        require(context.keyPaddingMask() == null || capabilities.keyPaddingMask(), "a key padding mask",
                "keyPaddingMask");
        require(bias == null || capabilities.additiveBias(), "an additive bias", "additiveBias");
        Tensor mask = context.keyPaddingMask();
        if (mask != null && (mask.size(0) != batch || mask.size(1) != keyLength)) {
            throw new IllegalArgumentException(prefix() + "keyPaddingMask " + Arrays.toString(mask.shape())
                    + " must be [batch, keyLength] = [" + batch + ", " + keyLength + "]"
                    + (queryOffset > 0 ? ", covering the " + queryOffset + " cached positions and the new ones" : ""));
        }
        float dropout = isTraining() ? context.dropout() : 0f;
        return bias == context.bias() && dropout == context.dropout() ? context
                : context.toBuilder().bias(bias).dropout(dropout, context.rng()).build();
    }

    /** The mechanism, the head merge and the output projection: q [B, H, Lq, D], k and v [B, Hkv, Lk, D]. */
    private Tensor attend(Tensor q, Tensor k, Tensor v, AttentionContext context) {
        return merge(mechanism.forward(q, k, v, context), q.size(0), q.size(2));
    }

    /**
     * {@link #attend} without a cache: with {@code checkpointHeads} in training mode the mechanism
     * runs one head at a time, each under {@link ActivationCheckpoint}.
     */
    private Tensor attendUncached(Tensor q, Tensor k, Tensor v, AttentionContext context) {
        if (!checkpointHeads || !isTraining()) {
            return attend(q, k, v, context);
        }
        if (context.dropout() > 0f) {
            throw new IllegalArgumentException(prefix() + "runs one head at a time (checkpointHeads), so it cannot "
                    + "draw the attention dropout masks of all heads at once; got attention dropout "
                    + context.dropout() + " in training");
        }
        int group = heads / keyValueHeads;
        Tensor[] keys = new Tensor[keyValueHeads];
        Tensor[] values = new Tensor[keyValueHeads];
        for (int g = 0; g < keyValueHeads; g++) {
            keys[g] = k == q ? null : k.narrow(1, g, 1);
            values[g] = v.narrow(1, g, 1);
        }
        Module module = mechanism instanceof Module m ? m : null;
        List<Tensor> parameters = module == null ? List.of() : module.parameters();
        List<ReplayableState> states = module == null ? List.of() : module.replayableStates();
        Tensor bias = context.bias();
        int biasHeadAxis = bias != null && bias.dim() >= 3 && bias.size(bias.dim() - 3) == heads && heads > 1
                ? bias.dim() - 3 : -1;
        Tensor[] outs = new Tensor[heads];
        for (int h = 0; h < heads; h++) {
            Tensor qh = q.narrow(1, h, 1);
            Tensor kh = keys[h / group] == null ? qh : keys[h / group];      // a shared query-key stays one tensor
            Tensor vh = values[h / group];
            Tensor bh = biasHeadAxis < 0 ? bias : bias.narrow(biasHeadAxis, h, 1);
            outs[h] = bh == null
                    ? ActivationCheckpoint.apply(in -> mechanism.forward(in[0], in[1], in[2], context),
                            parameters, states, qh, kh, vh)
                    : ActivationCheckpoint.apply(in -> mechanism.forward(in[0], in[1], in[2],
                            context.toBuilder().bias(in[3]).build()), parameters, states, qh, kh, vh, bh);
        }
        return merge(Tensor.concat(1, outs), q.size(0), q.size(2));
    }

    /** The head merge and the output projection of the mechanism's output [B, H, Lq, D]: [B, Lq, modelDim]. */
    private Tensor merge(Tensor out, int batch, int queryLength) {
        int[] expected = {batch, heads, queryLength, headDim};
        if (!Arrays.equals(out.shape(), expected)) {
            throw new IllegalStateException(prefix() + "returned " + Arrays.toString(out.shape()) + " instead of "
                    + "[batch, heads, queryLength, headDim] = " + Arrays.toString(expected));
        }
        // [B, H, Lq, D] → [B, Lq, H, D] → [B, Lq, H·D]
        return outputProjection.forward(out.transpose(1, 2).reshape(batch, queryLength, modelDim));
    }

    /** [B, L, n·D] → [B, L, n, D] → [B, n, L, D]. */
    private Tensor split(Tensor x, int n) {
        return x.reshape(x.size(0), x.size(1), n, headDim).transpose(1, 2);
    }

    private void checkInput(String name, Tensor x) {
        if (x.dim() != 3 || x.size(2) != modelDim) {
            throw new IllegalArgumentException(prefix() + name + " must be [batch, length, modelDim = " + modelDim
                    + "], got shape " + Arrays.toString(x.shape()));
        }
    }

    private void require(boolean supported, String what, String capability) {
        if (!supported) {
            throw new IllegalArgumentException(prefix() + "does not support " + what + " (capability " + capability
                    + " is false)");
        }
    }

    private String prefix() {
        return "MultiHeadAttention: attention mechanism '" + mechanismName + "' ";
    }

    /** The model width, the inputs' and output's last dimension. */
    public int modelDim() {
        return modelDim;
    }

    /** Number of query heads. */
    public int heads() {
        return heads;
    }

    /** Number of key and value heads: {@link #heads()}, fewer for grouped- or multi-query attention. */
    public int keyValueHeads() {
        return keyValueHeads;
    }

    /** Size of each head, modelDim / heads. */
    public int headDim() {
        return headDim;
    }

    /** Whether the layer runs and checkpoints the mechanism one head at a time in training (see the class comment). */
    public boolean checkpointHeads() {
        return checkpointHeads;
    }

    /** The per-head attention this layer delegates to. */
    public AttentionMechanism mechanism() {
        return mechanism;
    }
}
