package org.xformers4j.attention.exact;

import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Scaled dot-product attention (Vaswani et al., 2017, "Attention Is All You Need", §3.2.1):
 * <pre>
 *   Attention(Q, K, V) = softmax(Q Kᵀ · scale + bias + mask) V
 * </pre>
 * computed exactly with the tensor ops, so autograd provides the backward pass for the queries,
 * keys, values and a bias that requires grad (learned relative position biases).
 *
 * <p>Masked scores (padded keys, and with a causal context the keys after each query's
 * position) are set to -∞ and take no weight, whatever the bias; a bias of -∞ masks its key the
 * same way, and a finite bias is an ordinary score ({@link AttentionContext} defines this). A
 * query whose keys are all masked has no distribution to average over: its output row is zeros,
 * and no gradient flows through it. This happens with a padding mask that covers a whole row, a
 * bias of -∞ on every key of a row, and a causal context that has more queries than keys
 * (queries are end-aligned, so the first {@code queryLength - keyLength} sit before key 0).
 *
 * <p>The score matrix is formed, so full offers the options that act on it
 * ({@link SoftmaxAttention}): talking heads ({@code talkingHeads}, Shazeer et al., 2020,
 * "Talking-Heads Attention") and explicit top-k sparse attention ({@code topK}, Zhao et al., 2019,
 * "Explicit Sparse Transformer"). It reports the weights its forward applies
 * ({@link WeightedAttention}), before dropout, from the same computation.
 *
 * <p>Time and memory are quadratic in the length: the [batch, heads, queryLength, keyLength]
 * score matrix is materialised. FLOPs ({@link SoftmaxAttention}): every one of the Lq·Lk scores
 * is computed, a causal mask's included: forward {@code 2·B·H·Lq·Lk·(D + Dv)}, backward twice that.
 */
@ComponentInfo(name = "full",
        summary = "Exact scaled dot-product softmax attention over every key",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class FullAttention extends SoftmaxAttention implements WeightedAttention {

    /** For OLCUT. */
    private FullAttention() {
    }

    /** Attention scaled by {@code scale}, or by 1/sqrt(headDim) when it is 0. */
    public FullAttention(float scale) {
        super(scale);
        postConfig();
    }

    /** Talking heads and top-k act on the score matrix, which full forms. */
    @Override
    protected boolean materializesScores() {
        return true;
    }

    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check("full", query, key, value, context);
        Tensor weights = denseWeights(query, key, context, null);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        return weights.matmul(value);
    }

    /** The weights {@link #attend} multiplies the values by, from the same {@link #denseWeights}, before dropout. */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /** Lq·Lk: the whole matrix, masked scores included. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        return (double) queryLength * keyLength;
    }

    @Override
    public String toString() {
        return "FullAttention(scale=" + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
