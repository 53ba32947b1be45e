package org.xformers4j.attention.mixing;

import java.util.random.RandomGenerator;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * What the token mixers of this package share: the head layout they are initialised for (they all
 * have parameters per head), and the checks of every call. Each mixes the tokens of one sequence
 * without query-key scores, so each refuses an additive bias, attention dropout and queries of
 * another sequence than the keys (cross-attention, or a key cache's fewer queries than keys).
 */
abstract class MixingMechanism extends Module implements AttentionMechanism, FlopCount {

    private final String name;
    int heads = -1;
    int headDim = -1;
    int valueDim = -1;

    MixingMechanism(String name) {
        this.name = name;
    }

    /** {@link #initialize(int, int, int, RandomGenerator)} with values of headDim elements, as a multi-head layer's. */
    @Override
    public final void initialize(int heads, int headDim, RandomGenerator rng) {
        initialize(heads, headDim, headDim, rng);
    }

    /**
     * Creates the parameters for {@code heads} heads of size {@code headDim} and values of size
     * {@code valueDim}; a second call with the same sizes does nothing.
     *
     * @throws IllegalStateException when already initialised for other sizes
     */
    @Override
    public final void initialize(int heads, int headDim, int valueDim, RandomGenerator rng) {
        if (AttentionInputs.initialisedFor(name, this.heads, this.headDim, this.valueDim, heads, headDim, valueDim)) {
            return;
        }
        this.heads = heads;
        this.headDim = headDim;
        this.valueDim = valueDim;
        createParameters(rng);
    }

    /** Creates and registers the parameters for {@link #heads}, {@link #headDim} and {@link #valueDim}. */
    abstract void createParameters(RandomGenerator rng);

    /**
     * Checks q [B, H, Lq, d], k [B, H, N, d], v [B, H, N, Dv] and the key padding mask [B, N]
     * ({@link AttentionInputs}), that there is no bias and no attention dropout, that queries and
     * keys are one sequence (Lq = N; with {@code keyCache} and a causal context also the last Lq of
     * them, the new tokens after a key cache), that the sizes are the initialised ones and, when
     * {@code causalRefusal} is not null, that the context is not causal (the refusal says why).
     */
    final void check(Tensor query, Tensor key, Tensor value, AttentionContext context, String causalRefusal,
                     boolean keyCache) {
        AttentionInputs.check(name, query, key, value, context);
        AttentionInputs.refuseBiasAndDropout(name, context);
        if (context.causal() && causalRefusal != null) {
            throw new IllegalArgumentException(name + ": a causal context is not supported: " + causalRefusal);
        }
        boolean cached = keyCache && context.causal() && query.size(2) < key.size(2);
        if (query.size(2) != key.size(2) && !cached) {
            throw new IllegalArgumentException(name + ": queries and keys must be one sequence (the mechanism mixes "
                    + "the tokens of one sequence: no cross-attention" + (keyCache
                    ? "; fewer queries than keys only as the last tokens of a causal context, after a key cache)"
                    : ", no key cache)") + ", got query " + AttentionInputs.shape(query) + " and key "
                    + AttentionInputs.shape(key));
        }
        if (this.heads == -1) {
            throw new IllegalStateException(name + ": not initialised (a multi-head layer calls initialize)");
        }
        if (query.size(1) != heads || query.size(3) != headDim || value.size(3) != valueDim) {
            throw new IllegalArgumentException(name + ": initialised for " + heads + " heads of size " + headDim
                    + " and values of size " + valueDim + ", got query " + AttentionInputs.shape(query)
                    + " and value " + AttentionInputs.shape(value));
        }
    }

    /** [B, 1, N, 1]: non-zero at the tokens the context's key padding mask pads; null without a mask. */
    static Tensor padding(AttentionContext context) {
        Tensor mask = context.keyPaddingMask();
        return mask == null ? null : mask.reshape(mask.size(0), 1, mask.size(1), 1);
    }

    /** {@code x} with the padded tokens set to 0 ({@code padding} from {@link #padding}, null for none). */
    static Tensor zeroPadded(Tensor x, Tensor padding) {
        return padding == null ? x : x.maskedFill(padding, 0f);
    }

    /** {@code x / sqrt(Σ x² + eps)} along {@code dim}: unit L2 norm, a zero vector stays zero with finite gradients. */
    static Tensor l2Normalize(Tensor x, int dim, float eps) {
        return x.div(x.mul(x).sum(dim, true).add(eps).sqrt());
    }
}
