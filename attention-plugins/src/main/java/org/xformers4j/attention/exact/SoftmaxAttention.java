package org.xformers4j.attention.exact;

import org.xformers4j.attention.internal.AttentionInputs;
import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * The options every softmax attention mechanism shares, applied before its core
 * {@link #attend}: grouped-query heads, query-key normalisation and persistent memory slots; the
 * options that act on the whole score matrix (talking heads, top-k), for the mechanisms that
 * materialise it; and the dense weights of this softmax attention ({@link #softmaxWeights}), the
 * {@link WeightedAttention} report of the mechanisms that implement it.
 * A mechanism that cannot honour an option says so in {@link #supports(Option)} (or, for the score
 * options, {@link #materializesScores()}) and is rejected at configuration with a
 * {@link PropertyException} naming it and the option.
 *
 * <ul>
 *   <li>{@code kvHeads}: keys and values arrive with fewer heads than the queries and each serves
 *       a group of query heads: multi-query attention with 1 (Shazeer, 2019, "Fast Transformer
 *       Decoding: One Write-Head is All You Need"), grouped-query attention with a divisor of the
 *       heads (Ainslie et al., 2023, "GQA").</li>
 *   <li>{@code qkNorm}: queries and keys are L2-normalised and the scores multiplied by a learned
 *       temperature instead of 1/sqrt(headDim) (Henry et al., 2020, "Query-Key Normalization for
 *       Transformers").</li>
 *   <li>{@code numMemoryKv}: learned key/value slots prepended to every head's keys and values,
 *       visible to every query and never padded (Sukhbaatar et al., 2019, "Augmenting
 *       Self-attention with Persistent Memory").</li>
 *   <li>{@code talkingHeads} (score-materialising mechanisms only): talking-heads attention
 *       (Shazeer et al., 2020, "Talking-Heads Attention"): learned H×H matrices mix the heads'
 *       query-key products before the bias, the masks and the softmax ({@code
 *       s'[h] = Σ_g P_logits[h, g] · s[g]}) and the heads' weights after it ({@code
 *       w'[h] = Σ_g P_weights[h, g] · w[g]}). Both start as the identity, so a fresh layer is
 *       plain softmax attention (lucidrains' x-transformers initialises its 1×1 convolutions the
 *       same way, {@code nn.init.dirac_}), and take no weight decay. The mixed weights keep 0 where
 *       head h masks a key and rows of zeros where it masks them all, as {@link AttentionContext}
 *       requires, and a row sums to the sum of its row of P_weights, not to 1. Attention dropout
 *       applies to the mixed weights.</li>
 *   <li>{@code topK} (score-materialising mechanisms only): explicit sparse attention (Zhao et al.,
 *       2019, "Explicit Sparse Transformer: Concentrated Attention Through Explicit Selection"):
 *       after the bias and the masks, each query keeps its k largest scores and the others are
 *       masked (-∞) before the softmax; gradients flow through the kept scores. Ties at the k-th
 *       largest score are all kept (every score {@code >=} it, as x-transformers' {@code
 *       sparse_topk}), so a row may keep more than k keys, independently of the keys' order; a
 *       row with fewer than k visible keys keeps them all. The k-th largest score of each row is
 *       found on the host: O(Lq·Lk·log Lk) per head beside the O(Lq·Lk·D) products.</li>
 * </ul>
 *
 * <p>Parameters (memory slots, temperature, talking-heads matrices) are created by
 * {@link #initialize}, which the multi-head layer calls with its head count and width.
 *
 * <p><b>Weights.</b> {@link #softmaxWeights} computes, without a graph, the dense [batch, heads,
 * queryLength, keyLength] weights of softmax attention over the inputs {@link #forward} receives,
 * with every option above and the context (bias, key padding, causal order, -∞ bias), and for a
 * mechanism that implements {@link PatternedAttention} restricted to its {@link AttentionPattern}
 * (pairs outside it masked, its bias added): the weights the mechanism's output is the weighted
 * sum of values with, which a {@link WeightedAttention} subclass reports with
 * {@code return softmaxWeights(query, key, context);}. {@code full} computes its forward through
 * the same dense path ({@link #denseWeights}), so its reported weights are the ones it applies.
 * With {@code numMemoryKv} slots part of every row's weight is on a slot, which is not a key:
 * weights are then refused.
 *
 * <p><b>FLOPs</b> ({@link FlopCount}): the two products of softmax attention, scores = q·kᵀ and
 * out = weights·v, over the S query-key scores per batch element and head that the mechanism
 * computes ({@link #scores}, with the {@code numMemoryKv} slots among the keys): forward
 * {@code 2·B·H·S·(D + Dv)}, backward twice that (each product's two gradient products, through
 * autograd). Query-key normalisation, the talking-heads mixing (2·H per score), top-k and the
 * softmax are not counted.
 */
public abstract class SoftmaxAttention extends Module implements AttentionMechanism, FlopCount {

    /** The options of this class a mechanism may not support. */
    protected enum Option {
        /** {@code kvHeads} other than the query heads. */
        GROUPED_HEADS,
        /** {@code qkNorm}. */
        QUERY_KEY_NORM,
        /** {@code numMemoryKv} above 0. */
        MEMORY_KEY_VALUES
    }

    @Config(description = "Multiplier of the query-key dot products; 0 means 1/sqrt(headDim).")
    @Range(min = 0, maxInclusive = false)
    private float scale = 0f;

    @Config(description = "Key/value heads; 0 means one per query head, 1 is multi-query attention, "
            + "a divisor of the query heads is grouped-query attention.")
    @Range(min = 0)
    private int kvHeads = 0;

    @Config(description = "L2-normalise queries and keys and scale the scores by a learned temperature "
            + "instead of 1/sqrt(headDim).")
    private boolean qkNorm = false;

    @Config(description = "Initial value of the learned query-key temperature (used with qkNorm).")
    @Range(min = 0, minInclusive = false)
    private float qkNormTemperature = 10f;

    @Config(description = "Learned persistent memory key/value slots prepended to every head's keys and values.")
    @Range(min = 0)
    private int numMemoryKv = 0;

    @Config(description = "Talking-heads attention: learned heads x heads mixing of the scores before the softmax "
            + "and of the weights after it, both starting as the identity (full only).")
    private boolean talkingHeads = false;

    @Config(description = "Explicit sparse attention: each query keeps only its topK largest scores (all ties "
            + "at the k-th kept); 0 keeps every score (full only).")
    @Range(min = 0)
    private int topK = 0;

    private Tensor temperature;
    private Tensor memoryKeys;
    private Tensor memoryValues;
    /** Talking heads: [H, H], row h mixes the heads' query-key products into head h's scores. */
    private Tensor logitMixing;
    /** Talking heads: [H, H], row h mixes the heads' weights into head h's weights. */
    private Tensor weightMixing;

    /** For OLCUT, which sets the {@code @Config} fields. */
    protected SoftmaxAttention() {
    }

    /** A mechanism with the given score scale (0: 1/sqrt(headDim)) and no options. */
    protected SoftmaxAttention(float scale) {
        this.scale = scale;
    }

    /** The configured scale; 0 means 1/sqrt(headDim). */
    public final float scale() {
        return scale;
    }

    /** Whether this mechanism can honour {@code option}; all by default. */
    protected boolean supports(Option option) {
        return true;
    }

    /**
     * Whether {@link #attend} forms the whole [queryLength, keyLength] score matrix of every head
     * through {@link #denseWeights}, which the options {@code talkingHeads} and {@code topK} act on;
     * false by default, and those options are refused.
     */
    protected boolean materializesScores() {
        return false;
    }

    /** The core: attention over keys and values that already have one head per query head. */
    protected abstract Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context);

    /**
     * The query-key scores {@link #attend} computes per batch element and head for these lengths,
     * masked ones included (a blocked mechanism computes and masks whole blocks), tiles a fused
     * kernel skips excluded.
     */
    protected abstract double scores(int queryLength, int keyLength, boolean causal);

    @Override
    public double forwardFlops(Shape shape) {
        return 2 * shape.batchHeads() * scores(shape.queryLength(), shape.keyLength() + numMemoryKv, shape.causal())
                * (shape.headDim() + shape.valueDim());
    }

    @Override
    public void postConfig() {
        AttentionMechanism.super.postConfig();
        reject(Option.GROUPED_HEADS, kvHeads != 0, "kvHeads", kvHeads);
        reject(Option.QUERY_KEY_NORM, qkNorm, "qkNorm", qkNorm);
        reject(Option.MEMORY_KEY_VALUES, numMemoryKv > 0, "numMemoryKv", numMemoryKv);
        rejectScoreOption(talkingHeads, "talkingHeads", talkingHeads);
        rejectScoreOption(topK > 0, "topK", topK);
    }

    private void reject(Option option, boolean requested, String field, Object value) {
        if (requested && !supports(option)) {
            String name = name();
            throw new PropertyException(name, field, name + " does not support " + field + " = " + value);
        }
    }

    private void rejectScoreOption(boolean requested, String field, Object value) {
        if (requested && !materializesScores()) {
            String name = name();
            throw new PropertyException(name, field, name + " does not support " + field + " = " + value
                    + ": it acts on the whole score matrix of every head, which " + name
                    + " never forms; use full, which does");
        }
    }

    /** The component name, for messages. */
    protected final String name() {
        ComponentInfo info = getClass().getAnnotation(ComponentInfo.class);
        return info == null ? getClass().getSimpleName() : info.name();
    }

    @Override
    public int keyValueHeads(int heads) {
        return kvHeads == 0 ? heads : kvHeads;
    }

    /**
     * True without memory key-values and talking heads: each head's scores, weights and output come
     * from its own query, key, value and bias (the qkNorm temperature is one scalar for all heads);
     * the learned memory slots are per head, and talking heads mix the heads, so with either a
     * single head cannot be run alone.
     */
    @Override
    public boolean headsIndependent() {
        return numMemoryKv == 0 && !talkingHeads;
    }

    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        if (kvHeads != 0 && heads % kvHeads != 0) {
            throw new IllegalArgumentException(name() + ": kvHeads " + kvHeads + " must divide the " + heads + " heads");
        }
        if (qkNorm && temperature == null) {
            temperature = registerParameter("temperature", Tensor.full(qkNormTemperature, 1), false);
        }
        if (numMemoryKv > 0 && memoryKeys == null) {
            memoryKeys = registerParameter("memoryKeys", Init.normal(rng, 0f, 1f, heads, numMemoryKv, headDim));
            memoryValues = registerParameter("memoryValues", Init.normal(rng, 0f, 1f, heads, numMemoryKv, headDim));
        }
        if (talkingHeads && logitMixing == null) {
            logitMixing = registerParameter("logitMixing", identity(heads), false);
            weightMixing = registerParameter("weightMixing", identity(heads), false);
        }
    }

    private static Tensor identity(int n) {
        float[] data = new float[n * n];
        for (int i = 0; i < n; i++) {
            data[i * n + i] = 1f;
        }
        return Tensor.of(data, n, n);
    }

    /**
     * The factor applied to the query-key dot products: the configured scale, 1/sqrt(headDim) when
     * it is 0, and 1 with qkNorm (the learned temperature is already in the queries).
     */
    protected final float scoreScale(int headDim) {
        if (qkNorm) {
            return 1f;
        }
        return scale == 0f ? (float) (1 / Math.sqrt(headDim)) : scale;
    }

    @Override
    public final Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        Inputs in = inputs(query, key, value, context);
        return attend(in.query(), in.key(), in.value(), in.context());
    }

    /**
     * The weights of this mechanism's softmax attention of {@code query} over {@code key} in
     * {@code context}, computed without a graph: {@link #denseWeights} of the inputs {@link #attend}
     * receives (heads shared, qkNorm applied), restricted to the {@link PatternedAttention#pattern
     * pattern} when this mechanism is a {@link PatternedAttention}. What a {@link WeightedAttention}
     * subclass reports from {@link WeightedAttention#attentionWeights}.
     *
     * @param query   [batch, heads, queryLength, headDim], as {@link #forward} receives it
     * @param key     [batch, keyValueHeads, keyLength, headDim]
     * @param context as for {@link #forward}
     * @return [batch, heads, queryLength, keyLength], attention dropout not applied
     * @throws IllegalArgumentException for inputs or a context {@link #forward} refuses, and with
     *                                  {@code numMemoryKv} slots, whose weight is on no key
     */
    protected final Tensor softmaxWeights(Tensor query, Tensor key, AttentionContext context) {
        if (numMemoryKv > 0) {
            throw new IllegalArgumentException(name() + " with numMemoryKv = " + numMemoryKv + " reports no attention "
                    + "weights: part of every row's weight is on a memory slot, which is not one of the keys");
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Inputs in = inputs(query, key, key, context);      // the keys stand in for the values, which are not read
            AttentionInputs.check(name(), in.query(), in.key(), in.key(), in.context());
            AttentionPattern pattern = this instanceof PatternedAttention p
                    ? p.pattern(query.size(1), query.size(2), key.size(2), context) : null;
            return denseWeights(in.query(), in.key(), in.context(), pattern);
        }
    }

    /**
     * The weights of dense softmax attention, the talking-heads and top-k options included, over
     * inputs with one key head per query head: q [B, H, Lq, D], k [B, H, Lk, D] →
     * [B, H, Lq, Lk]. The scores {@code scale · q kᵀ} (mixed across heads with talking heads), plus
     * the context's bias and the pattern's, with -∞ where a key is padded, after a causal query,
     * outside the pattern or (top-k) not among the query's k largest scores; their softmax over
     * the keys, a row of -∞ giving zeros (mixed across heads with talking heads). Differentiable;
     * attention dropout is the caller's.
     *
     * @param pattern the pairs to restrict to and their bias, or null for all pairs
     */
    protected final Tensor denseWeights(Tensor q, Tensor k, AttentionContext context, AttentionPattern pattern) {
        int batch = q.size(0);
        int heads = q.size(1);
        int queryLength = q.size(2);
        int keyLength = k.size(2);
        // scores [B, H, Lq, Lk] = (q · s) kᵀ; scaling q costs Lq·D multiplies instead of Lq·Lk
        Tensor scores = q.mul(scoreScale(q.size(3))).matmul(k, false, true);
        if (talkingHeads) {
            requireInitialized(logitMixing, "talkingHeads");
            if (logitMixing.size(0) != heads) {
                throw new IllegalArgumentException(name() + ": talkingHeads mixes the " + logitMixing.size(0)
                        + " heads it was initialised for, got query " + AttentionInputs.shape(q));
            }
            scores = mixHeads(logitMixing, scores);           // before the bias and the masks, as x-transformers
        }
        if (context.bias() != null) {
            scores = scores.add(context.bias());
        }
        if (pattern != null) {
            checkPattern(pattern, heads, queryLength, keyLength);
            if (pattern.bias() != null) {
                scores = scores.add(Tensor.of(q.backend(), pattern.bias(), 1, heads, queryLength, keyLength));
            }
        }
        Tensor masked = mask(context, pattern, q.backend(), batch, queryLength, keyLength);
        if (masked != null) {
            // -∞, not a finite stand-in: no bias can lift a masked key above a visible one
            scores = scores.maskedFill(masked, Float.NEGATIVE_INFINITY);
        }
        if (topK > 0 && topK < keyLength) {
            scores = scores.maskedFill(belowTopK(scores, topK), Float.NEGATIVE_INFINITY);
        }
        // a row with every score -∞ (all keys masked) is zeros, with a zero gradient
        Tensor weights = scores.softmax(-1);
        if (talkingHeads) {
            weights = mixHeads(weightMixing, weights);
            if (topK > 0 || context.bias() != null || pattern != null) {
                // masks that differ between heads: keep head h's masked keys at 0 and its fully masked rows
                // at zeros (AttentionContext); padding and causal order mask every head alike, so mixing
                // their zeros leaves them 0
                weights = weights.mul(scores.eq(Tensor.full(Float.NEGATIVE_INFINITY, 1)).rsub(1f));
            }
        }
        return weights;
    }

    /** {@code out[b, h] = Σ_g mixing[h, g] · x[b, g]} for x [B, H, Lq, Lk]. */
    private static Tensor mixHeads(Tensor mixing, Tensor x) {
        int[] s = x.shape();
        return mixing.matmul(x.reshape(s[0], s[1], s[2] * s[3])).reshape(s);
    }

    /**
     * 1 where a score is below its row's {@code k}-th largest, [B, H, Lq, Lk]: those the top-k
     * selection masks; every score equal to the k-th largest stays (-∞ ones are masked anyway).
     */
    private static Tensor belowTopK(Tensor scores, int k) {
        int keyLength = scores.size(3);
        float[] s = scores.toFloatArray();
        float[] below = new float[s.length];
        float[] row = new float[keyLength];
        for (int start = 0; start < s.length; start += keyLength) {
            System.arraycopy(s, start, row, 0, keyLength);
            Arrays.sort(row);
            float kth = row[keyLength - k];
            for (int j = 0; j < keyLength; j++) {
                below[start + j] = s[start + j] < kth ? 1f : 0f;
            }
        }
        return Tensor.of(scores.backend(), below, scores.shape());
    }

    private void checkPattern(AttentionPattern pattern, int heads, int queryLength, int keyLength) {
        if (pattern.heads() != heads || pattern.queryLength() != queryLength || pattern.keyLength() != keyLength) {
            throw new IllegalStateException(name() + ": pattern of " + pattern.heads() + " × " + pattern.queryLength()
                    + " × " + pattern.keyLength() + " for " + heads + " heads of " + queryLength + " queries over "
                    + keyLength + " keys");
        }
    }

    /**
     * 1 where the score of query i for key j is masked (padded key, causal future, outside the
     * pattern), broadcastable to [B, H, Lq, Lk], or null when nothing is masked.
     */
    private static Tensor mask(AttentionContext context, AttentionPattern pattern, ComputeBackend backend, int batch,
                               int queryLength, int keyLength) {
        Tensor masked = null;
        if (context.keyPaddingMask() != null) {
            Tensor keyPaddingMask = context.keyPaddingMask();
            // [B, Lk] non-zero → [B, 1, 1, Lk] of 0/1
            masked = keyPaddingMask.eq(Tensor.zeros(keyPaddingMask.backend())).rsub(1f)
                    .reshape(batch, 1, 1, keyLength);
        }
        if (context.causal()) {
            // query i sits at key position keyLength - queryLength + i and sees keys j <= that position
            float[] future = new float[queryLength * keyLength];
            for (int i = 0; i < queryLength; i++) {
                int position = keyLength - queryLength + i;
                for (int j = Math.max(0, position + 1); j < keyLength; j++) {
                    future[i * keyLength + j] = 1f;
                }
            }
            masked = union(masked, Tensor.of(backend, future, 1, 1, queryLength, keyLength));
        }
        if (pattern != null && pattern.density() < 1) {
            float[] outside = new float[pattern.heads() * queryLength * keyLength];
            for (int e = 0; e < outside.length; e++) {
                outside[e] = pattern.allowed().get(e) ? 0f : 1f;
            }
            masked = union(masked, Tensor.of(backend, outside, 1, pattern.heads(), queryLength, keyLength));
        }
        return masked;
    }

    private static Tensor union(Tensor a, Tensor b) {
        return a == null ? b : a.maximum(b);
    }

    /** The inputs {@link #attend} receives. */
    private record Inputs(Tensor query, Tensor key, Tensor value, AttentionContext context) {
    }

    /**
     * The shared options applied to what {@link #forward} receives: key and value heads repeated
     * for their query heads, queries and keys normalised (qkNorm), memory slots prepended.
     */
    private Inputs inputs(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.checkRanks(name(), query, key, value);
        int heads = query.size(1);
        int kv = key.size(1);
        if (value.size(1) != kv || heads % kv != 0) {
            throw new IllegalArgumentException(name() + ": key " + AttentionInputs.shape(key) + " and value "
                    + AttentionInputs.shape(value) + " must have the same number of heads, dividing the " + heads
                    + " heads of query " + AttentionInputs.shape(query));
        }
        Tensor k = repeatHeads(key, heads);
        Tensor v = repeatHeads(value, heads);
        Tensor q = query;
        if (qkNorm) {
            requireInitialized(temperature, "qkNorm");
            q = l2Normalize(q).mul(temperature);
            k = l2Normalize(k);
        }
        AttentionContext c = context;
        if (numMemoryKv > 0) {
            requireInitialized(memoryKeys, "numMemoryKv");
            int batch = q.size(0);
            k = Tensor.concat(2, memoryKeys.unsqueeze(0).expand(batch, memoryKeys.size(0), numMemoryKv, k.size(3)), k);
            v = Tensor.concat(2, memoryValues.unsqueeze(0).expand(batch, memoryValues.size(0), numMemoryKv,
                    v.size(3)), v);
            c = withMemoryColumns(context, batch, q.size(2), key.size(2));
        }
        return new Inputs(q, k, v, c);
    }

    private void requireInitialized(Tensor parameter, String option) {
        if (parameter == null) {
            throw new IllegalStateException(name() + ": " + option + " needs initialize(heads, headDim, rng) first "
                    + "(MultiHeadAttention calls it)");
        }
    }

    /** [B, kvHeads, L, D] to [B, heads, L, D], each key/value head serving heads/kvHeads query heads. */
    private static Tensor repeatHeads(Tensor x, int heads) {
        int kv = x.size(1);
        if (kv == heads) {
            return x;
        }
        int[] s = x.shape();
        return x.unsqueeze(2).expand(s[0], kv, heads / kv, s[2], s[3]).reshape(s[0], heads, s[2], s[3]);
    }

    private static Tensor l2Normalize(Tensor x) {
        return x.div(x.pow(2f).sum(-1, true).add(1e-12f).sqrt());
    }

    /** The context with the memory slots as unpadded, unbiased key columns in front. */
    private AttentionContext withMemoryColumns(AttentionContext context, int batch, int queryLength, int keyLength) {
        AttentionContext.Builder b = AttentionContext.builder().causal(context.causal())
                .dropout(context.dropout(), context.rng());
        if (context.keyPaddingMask() != null) {
            b.keyPaddingMask(Tensor.concat(1, Tensor.zeros(context.keyPaddingMask().backend(), batch, numMemoryKv),
                    context.keyPaddingMask()));
        }
        if (context.bias() != null) {
            Tensor bias = context.bias();
            while (bias.dim() < 4) {
                bias = bias.unsqueeze(0);
            }
            int[] s = bias.shape();
            bias = bias.expand(s[0], s[1], queryLength, keyLength);
            b.bias(Tensor.concat(3, Tensor.zeros(bias.backend(), s[0], s[1], queryLength, numMemoryKv), bias));
        }
        return b.build();
    }
}
