package org.xformers4j.attention.exact;

import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.attention.internal.FusedAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Exact scaled dot-product attention computed in tiles, FlashAttention-2 (Dao, 2023,
 * "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning"; Dao et al.,
 * 2022, "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"):
 * <pre>
 *   Attention(Q, K, V) = softmax(Q Kᵀ · scale + bias + mask) V
 * </pre>
 * the same function as {@link FullAttention}, to float rounding, with the same features (key
 * padding mask, end-aligned causal mask, cross-attention, a bias that may require grad, dropout on
 * the weights), but the [queryLength, keyLength] score matrix is never materialised: keys are
 * visited block by block with an online softmax (a running maximum and sum per query), and the
 * backward pass recomputes each block of weights from the saved per-query maximum and reciprocal
 * sum, kept apart so that the weights stay exact however large the scores (a single float32
 * log-sum-exp would lose the row sum near |score| = 1e8). Masking is by -∞ and a query with every
 * key masked outputs zeros with zero gradients, as in {@link FullAttention}. Extra memory is
 * O(N·d) instead of O(N²); time stays O(N²·d).
 *
 * <p>The forward and backward are one fused op ({@code attention.internal.FusedAttention}) on the compute backend's
 * {@code ComputeBackend.scaledDotProductAttention} kernels. Dropout draws one seed per call from
 * the context's generator; the kernel derives each weight's keep decision from it, so the
 * backward regenerates the forward's mask without storing it. The gradient of a bias that needs
 * one is summed into the bias's own (broadcast) shape.
 *
 * <p>It reports its weights ({@link WeightedAttention}) by forming them densely, outside the
 * kernel. The options that act on the whole score matrix ({@code talkingHeads}, {@code topK}) are
 * refused: use {@code full}.
 *
 * <p>FLOPs follow FlashAttention-2 (§4.1): forward {@code 2·B·H·S·(D + Dv)}, which is
 * {@code 4·B·H·N²·D} for self-attention with D = Dv, and a backward of 2.5 times that (five
 * products to the forward's two: it recomputes the scores). S is Lq·Lk, or with a causal context
 * the pairs a query may see, Σᵢ min(Lk, Lk − Lq + i + 1) (about half: the kernels skip the tiles
 * above the end-aligned diagonal; FlashAttention-2 counts exactly half).
 */
@ComponentInfo(name = "flash",
        summary = "Exact softmax attention in tiles with an online softmax; memory linear in the length",
        reference = "Dao, 2023, FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N)", linearMemory = true)
public final class FlashAttention extends SoftmaxAttention implements WeightedAttention {

    private static final String NAME = "flash attention";

    /** For OLCUT. */
    private FlashAttention() {
    }

    /** Attention scaled by {@code scale}, or by 1/sqrt(headDim) when it is 0. */
    public FlashAttention(float scale) {
        super(scale);
        postConfig();
    }

    /** The attention itself, on checked inputs. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        return FusedAttention.apply(query, key, value, context, scoreScale(query.size(3)), null);
    }

    /**
     * The weights of the same function, formed densely ([batch, heads, queryLength, keyLength], the
     * matrix the kernel never stores) for attention maps and rollout: equal to those the tiles
     * apply, to float32 rounding.
     */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /** Lq·Lk, or with a causal context the pairs a query may see: the tiles after them are skipped. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        if (!causal) {
            return (double) queryLength * keyLength;
        }
        // the last min(Lq, Lk) queries see keys; the i-th of them from the end sees all but i of the keys
        double seeing = Math.min(queryLength, keyLength);
        return seeing * (seeing + 1) / 2 + seeing * (keyLength - seeing);
    }

    /** 2.5 times the forward: the backward recomputes the scores (FlashAttention-2, §4.1). */
    @Override
    public double backwardFlops(Shape shape) {
        return 2.5 * forwardFlops(shape);
    }

    @Override
    public String toString() {
        return "FlashAttention(scale=" + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
