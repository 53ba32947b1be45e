package org.xformers4j.attention.exact;

import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.compute.ComputeBackend;
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
 * <p>Time and memory are quadratic in the length: the [batch, heads, queryLength, keyLength]
 * score matrix is materialised. FLOPs ({@link SoftmaxAttention}): every one of the Lq·Lk scores
 * is computed, a causal mask's included: forward {@code 2·B·H·Lq·Lk·(D + Dv)}, backward twice that.
 */
@ComponentInfo(name = "full",
        summary = "Exact scaled dot-product softmax attention over every key",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class FullAttention extends SoftmaxAttention {

    /** For OLCUT. */
    private FullAttention() {
    }

    /** Attention scaled by {@code scale}, or by 1/sqrt(headDim) when it is 0. */
    public FullAttention(float scale) {
        super(scale);
        postConfig();
    }

    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check("full", query, key, value, context);
        int batch = query.size(0);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        float s = scoreScale(query.size(3));

        // scores [B, H, Lq, Lk] = (q · s) kᵀ; scaling q costs Lq·D multiplies instead of Lq·Lk
        Tensor scores = query.mul(s).matmul(key, false, true);
        if (context.bias() != null) {
            scores = scores.add(context.bias());
        }
        Tensor masked = mask(context, query.backend(), batch, queryLength, keyLength);
        if (masked != null) {
            // -∞, not a finite stand-in: no bias can lift a masked key above a visible one
            scores = scores.maskedFill(masked, Float.NEGATIVE_INFINITY);
        }
        // a row with every score -∞ (all keys masked) is zeros, with a zero gradient
        Tensor weights = scores.softmax(-1);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        return weights.matmul(value);
    }

    /**
     * 1 where the score of query i for key j is masked, broadcastable to [B, 1, Lq, Lk], or null
     * when nothing is masked.
     */
    private static Tensor mask(AttentionContext context, ComputeBackend backend, int batch, int queryLength,
                               int keyLength) {
        Tensor padded = null;
        if (context.keyPaddingMask() != null) {
            Tensor keyPaddingMask = context.keyPaddingMask();
            // [B, Lk] non-zero → [B, 1, 1, Lk] of 0/1
            padded = keyPaddingMask.eq(Tensor.zeros(keyPaddingMask.backend())).rsub(1f)
                    .reshape(batch, 1, 1, keyLength);
        }
        if (!context.causal()) {
            return padded;
        }
        // query i sits at key position keyLength - queryLength + i and sees keys j <= that position
        float[] future = new float[queryLength * keyLength];
        for (int i = 0; i < queryLength; i++) {
            int position = keyLength - queryLength + i;
            for (int j = Math.max(0, position + 1); j < keyLength; j++) {
                future[i * keyLength + j] = 1f;
            }
        }
        Tensor causal = Tensor.of(backend, future, 1, 1, queryLength, keyLength);
        return padded == null ? causal : padded.maximum(causal);
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
