package org.xformers4j.attention;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.Arrays;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
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
 * position) take no weight. A query whose keys are all masked has no distribution to average
 * over: its output row is zeros, and no gradient flows through it. This happens with a padding
 * mask that covers a whole row, and with a causal context that has more queries than keys
 * (queries are end-aligned, so the first {@code queryLength - keyLength} sit before key 0).
 *
 * <p>Time and memory are quadratic in the length: the [batch, heads, queryLength, keyLength]
 * score matrix is materialised.
 */
@ComponentInfo(name = "full",
        summary = "Exact scaled dot-product softmax attention over every key",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class FullAttention implements AttentionMechanism {

    /**
     * The score given to masked positions before the softmax: finite, so that a fully masked row
     * stays finite (it is then zeroed), and so low that exp underflows to exactly 0 next to any
     * unmasked score.
     */
    private static final float MASKED_SCORE = -Float.MAX_VALUE;

    @Config(description = "Multiplier of the query-key dot products; 0 means 1/sqrt(headDim).")
    @Range(min = 0, maxInclusive = false)
    private float scale = 0f;

    /** For OLCUT. */
    private FullAttention() {
    }

    /** Attention scaled by {@code scale}, or by 1/sqrt(headDim) when it is 0. */
    public FullAttention(float scale) {
        this.scale = scale;
        postConfig();
    }

    /** The configured scale; 0 means 1/sqrt(headDim). */
    public float scale() {
        return scale;
    }

    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        checkShapes(query, key, value, context);
        int batch = query.size(0);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        float s = scale == 0f ? (float) (1 / Math.sqrt(query.size(3))) : scale;

        // scores [B, H, Lq, Lk] = (q · s) kᵀ; scaling q costs Lq·D multiplies instead of Lq·Lk
        Tensor scores = query.mul(s).matmul(key, false, true);
        if (context.bias() != null) {
            scores = scores.add(context.bias());
        }
        Tensor masked = mask(context, query.backend(), batch, queryLength, keyLength);
        if (masked != null) {
            scores = scores.maskedFill(masked, MASKED_SCORE);
        }
        Tensor weights = scores.softmax(-1);
        if (masked != null) {
            // masked weights are already 0 except in fully masked rows, which the softmax made uniform
            weights = weights.maskedFill(masked, 0f);
        }
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

    private static void checkShapes(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4) {
            throw new IllegalArgumentException("full attention: query, key and value must be [batch, heads, length, "
                    + "headDim], got query " + shape(query) + ", key " + shape(key) + ", value " + shape(value));
        }
        if (query.size(0) != key.size(0) || query.size(0) != value.size(0)
                || query.size(1) != key.size(1) || query.size(1) != value.size(1)) {
            throw new IllegalArgumentException("full attention: batch and heads of query " + shape(query) + ", key "
                    + shape(key) + " and value " + shape(value) + " must match");
        }
        if (query.size(3) != key.size(3)) {
            throw new IllegalArgumentException("full attention: query " + shape(query) + " and key " + shape(key)
                    + " must have the same headDim");
        }
        if (key.size(2) != value.size(2)) {
            throw new IllegalArgumentException("full attention: key " + shape(key) + " and value " + shape(value)
                    + " must have the same length");
        }
        int[] scores = {query.size(0), query.size(1), query.size(2), key.size(2)};
        Tensor keyPaddingMask = context.keyPaddingMask();
        if (keyPaddingMask != null && (keyPaddingMask.size(0) != scores[0] || keyPaddingMask.size(1) != scores[3])) {
            throw new IllegalArgumentException("full attention: keyPaddingMask " + shape(keyPaddingMask)
                    + " must be [batch, keyLength] = " + Arrays.toString(new int[] {scores[0], scores[3]}));
        }
        Tensor bias = context.bias();
        if (bias != null && !broadcastsTo(bias.shape(), scores)) {
            throw new IllegalArgumentException("full attention: bias " + shape(bias)
                    + " does not broadcast to the scores [batch, heads, queryLength, keyLength] = "
                    + Arrays.toString(scores));
        }
    }

    /** Whether {@code shape} broadcasts to {@code target} without changing it (trailing alignment, sizes equal or 1). */
    private static boolean broadcastsTo(int[] shape, int[] target) {
        if (shape.length > target.length) {
            return false;
        }
        for (int d = 1; d <= shape.length; d++) {
            int size = shape[shape.length - d];
            if (size != 1 && size != target[target.length - d]) {
                return false;
            }
        }
        return true;
    }

    private static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }

    @Override
    public String toString() {
        return "FullAttention(scale=" + (scale == 0f ? "1/sqrt(headDim)" : scale) + ")";
    }
}
