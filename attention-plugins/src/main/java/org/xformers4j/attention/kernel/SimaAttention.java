package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.tensor.Tensor;

/**
 * SimA (Koohpayegani and Pirsiavash, 2024, "SimA: Simple Softmax-free Attention for Vision
 * Transformers"): the softmax is replaced by an ℓ1 normalisation of each channel of the
 * queries and of the keys across the tokens, and attention becomes two plain matrix products:
 *
 * <pre>
 *   q̂[t, c] = q[t, c] / (Σ_s |q[s, c]| + eps)      (s over the query tokens)
 *   k̂[t, c] = k[t, c] / (Σ_s |k[s, c]| + eps)      (s over the unpadded key tokens)
 *   out = q̂ (k̂ᵀ v)  =  (q̂ k̂ᵀ) v
 * </pre>
 *
 * with q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv], each batch
 * element and head on its own. There is no softmax and no exponent: the weights q̂_i·k̂_j may be
 * negative (negative interactions are allowed, as in the paper), and the normalisation bounds
 * them, so no scale factor is applied.
 *
 * <p><b>Order of the products.</b> Both orders give the same result (associativity, up to float
 * rounding). {@code q̂ (k̂ᵀ v)} costs about (Lq + Lk)·D·Dv multiply-adds and a D×Dv buffer;
 * {@code (q̂ k̂ᵀ) v} costs Lq·Lk·(D + Dv) and an Lq×Lk buffer. With {@code order = AUTO} (the
 * default) the cheaper one is taken — the paper's rule ("N &gt; D: compute k̂ᵀv first, otherwise
 * q̂k̂ᵀ first") with the costs counted exactly for queries, keys and values of different sizes,
 * keys-values first on a tie. So for sequences longer than the head size, as in any long input,
 * time is O(N·D·Dv) and no N×N buffer is formed; {@code KV_FIRST} and {@code QK_FIRST} force one
 * order. FLOPs are those of the order taken: forward {@code 2·B·H·(Lq + Lk)·D·Dv} keys-values
 * first, {@code 2·B·H·Lq·Lk·(D + Dv)} otherwise, backward twice that; the ℓ1 normalisation is not
 * counted.
 *
 * <p><b>Choices the paper leaves open.</b>
 * <ul>
 *   <li>{@code eps} (configurable, default 1e-6) is added to each channel's ℓ1 norm, so a
 *       channel that is zero over every token normalises to zero with finite gradients.</li>
 *   <li>Padding: a key the padding mask marks is set to zero before the normalisation, so it is
 *       left out of its channel's ℓ1 norm and of the sums of both products, and its value is
 *       multiplied by zero; a batch element whose keys are all padded outputs zeros. The mask is a
 *       key mask: the queries are normalised over all the query tokens the layer passes (in
 *       padded self-attention the padded positions' queries therefore take part in the query
 *       channels' norms; pass only the real tokens when that matters).</li>
 *   <li>Causal use is refused: the normalisation runs over all the tokens, so every output
 *       depends on the queries and keys of later positions and a causal mask on q̂k̂ᵀ would still
 *       leak the future through the norms. A causal variant (norms over prefixes) would be a
 *       different method from the paper's, which is for vision transformers.</li>
 *   <li>Attention dropout and an additive bias are refused (there are no softmax weights to drop
 *       in the default order, and the paper adds no bias).</li>
 * </ul>
 */
@ComponentInfo(name = "sima",
        summary = "Softmax-free attention with queries and keys l1-normalised per channel across tokens; "
                + "q(k^T v) or (q k^T)v, whichever is cheaper, linear in N",
        reference = "Koohpayegani and Pirsiavash, 2024, SimA: Simple Softmax-free Attention for Vision Transformers")
@AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, time = "O(N*d^2)", memory = "O(N*d)", linearMemory = true)
public final class SimaAttention implements AttentionMechanism, FlopCount {

    private static final String NAME = "sima";

    private static final String CAUSAL_REFUSAL = "SimA normalises each query and key channel over all the tokens, "
            + "so every output depends on later positions (through the norms, whatever mask is put on q k^T), and "
            + "it cannot be causal without leaking the future; use it for encoders and cross-attention";

    /** Which product SimA computes first. */
    public enum Order {
        /** The cheaper of the two for the given lengths and sizes. */
        AUTO,
        /** {@code q̂ (k̂ᵀ v)}: O((Lq + Lk)·D·Dv), a D×Dv buffer. */
        KV_FIRST,
        /** {@code (q̂ k̂ᵀ) v}: O(Lq·Lk·(D + Dv)), an Lq×Lk buffer. */
        QK_FIRST
    }

    @Config(description = "Added to each channel's l1 norm across the tokens, so that an all-zero channel "
            + "normalises to zero with finite gradients.")
    @Range(min = 0, minInclusive = false)
    private float eps = 1e-6f;

    @Config(description = "Product computed first: AUTO (the cheaper), KV_FIRST (q(k^T v)) or QK_FIRST ((q k^T) v); "
            + "both give the same result.")
    private Order order = Order.AUTO;

    /** For OLCUT. */
    private SimaAttention() {
    }

    /** SimA with {@code eps} added to the ℓ1 norms and the products in {@code order}. */
    public SimaAttention(float eps, Order order) {
        this.eps = eps;
        this.order = order;
        postConfig();
    }

    public float eps() {
        return eps;
    }

    public Order order() {
        return order;
    }

    /** Whether the keys-values product comes first for these sizes. */
    boolean keysValuesFirst(int queryLength, int keyLength, int headDim, int valueDim) {
        if (order != Order.AUTO) {
            return order == Order.KV_FIRST;
        }
        long kvFirst = ((long) queryLength + keyLength) * headDim * valueDim;
        long qkFirst = (long) queryLength * keyLength * (headDim + valueDim);
        return kvFirst <= qkFirst;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, CAUSAL_REFUSAL);
        Tensor k = key;
        Tensor mask = context.keyPaddingMask();
        if (mask != null) {
            k = k.mul(mask.eq(mask.zerosLike()).reshape(key.size(0), 1, key.size(2), 1));
        }
        Tensor q = l1NormalizeOverTokens(query);
        k = l1NormalizeOverTokens(k);
        if (keysValuesFirst(query.size(2), key.size(2), query.size(3), value.size(3))) {
            return q.matmul(k.matmul(value, true, false));
        }
        return q.matmul(k, false, true).matmul(value);
    }

    /** x [B, H, L, D] with each channel divided by its ℓ1 norm over the L tokens (plus eps). */
    private Tensor l1NormalizeOverTokens(Tensor x) {
        return x.div(x.abs().sum(2, true).add(eps));
    }

    @Override
    public double forwardFlops(Shape shape) {
        double lq = shape.queryLength();
        double lk = shape.keyLength();
        return 2 * shape.batchHeads() * (keysValuesFirst(shape.queryLength(), shape.keyLength(), shape.headDim(),
                shape.valueDim()) ? (lq + lk) * shape.headDim() * shape.valueDim()
                : lq * lk * (shape.headDim() + shape.valueDim()));
    }

    @Override
    public String toString() {
        return "SimaAttention(eps=" + eps + ", order=" + order + ")";
    }
}
