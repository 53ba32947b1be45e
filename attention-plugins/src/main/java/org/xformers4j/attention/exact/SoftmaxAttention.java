package org.xformers4j.attention.exact;

import org.xformers4j.attention.internal.AttentionInputs;
import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * The options every softmax attention mechanism shares, applied before its core
 * {@link #attend}: grouped-query heads, query-key normalisation and persistent memory slots.
 * A mechanism that cannot honour an option says so in {@link #supports(Option)} and is rejected at
 * configuration with a {@link PropertyException} naming it and the option.
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
 * </ul>
 *
 * <p>Parameters (memory slots, temperature) are created by {@link #initialize}, which the
 * multi-head layer calls with its head count and width.
 *
 * <p><b>FLOPs</b> ({@link FlopCount}): the two products of softmax attention, scores = q·kᵀ and
 * out = weights·v, over the S query-key scores per batch element and head that the mechanism
 * computes ({@link #scores}, with the {@code numMemoryKv} slots among the keys): forward
 * {@code 2·B·H·S·(D + Dv)}, backward twice that (each product's two gradient products, through
 * autograd). Query-key normalisation and the softmax are elementwise and not counted.
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

    private Tensor temperature;
    private Tensor memoryKeys;
    private Tensor memoryValues;

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
    }

    private void reject(Option option, boolean requested, String field, Object value) {
        if (requested && !supports(option)) {
            String name = name();
            throw new PropertyException(name, field, name + " does not support " + field + " = " + value);
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
     * True without memory key-values: each head's scores, weights and output come from its own
     * query, key, value and bias (the qkNorm temperature is one scalar for all heads); the learned
     * memory slots are per head, so with {@code numMemoryKv} above 0 a single head cannot be run alone.
     */
    @Override
    public boolean headsIndependent() {
        return numMemoryKv == 0;
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
        return attend(q, k, v, c);
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
