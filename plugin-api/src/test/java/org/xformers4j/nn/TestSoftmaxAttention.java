package org.xformers4j.nn;

import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Exact softmax attention written with tensor ops, for testing {@link MultiHeadAttention} inside
 * plugin-api (the real mechanisms live in attention-plugins): scores q kᵀ / sqrt(headDim) + bias,
 * padded keys and (end-aligned) future keys masked, fully masked rows zero. With a group size g
 * it declares heads / g key-value heads and repeats each for g consecutive query heads. Its heads
 * are independent ({@link #headsIndependent()}). It reports the weights it applies ({@link WeightedAttention}).
 */
@ComponentInfo(name = "test-softmax", summary = "Exact softmax attention for tests",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class TestSoftmaxAttention implements WeightedAttention {

    private final int group;

    /** Multi-head attention: one key-value head per query head. */
    public TestSoftmaxAttention() {
        this(1);
    }

    /** Grouped-query attention with {@code group} query heads per key-value head. */
    public TestSoftmaxAttention(int group) {
        this.group = group;
    }

    @Override
    public int keyValueHeads(int heads) {
        return heads / group;
    }

    /** Each head's scores, weights and output are computed from that head's inputs alone. */
    @Override
    public boolean headsIndependent() {
        return true;
    }

    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        Tensor weights = weights(query, key, context);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        return weights.matmul(shared(value, query.size(1)));
    }

    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return weights(query, key, context);
        }
    }

    /** Key or value heads [B, Hkv, L, D] repeated for their groups of query heads: [B, heads, L, D]. */
    private static Tensor shared(Tensor x, int heads) {
        if (x.size(1) == heads) {
            return x;
        }
        int[] index = new int[heads];
        for (int h = 0; h < heads; h++) {
            index[h] = h / (heads / x.size(1));
        }
        return x.indexSelect(1, index);
    }

    private static Tensor weights(Tensor query, Tensor key, AttentionContext context) {
        int batch = query.size(0);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        Tensor scores = query.matmul(shared(key, query.size(1)), false, true)
                .mul((float) (1 / Math.sqrt(query.size(3))));
        if (context.bias() != null) {
            scores = scores.add(context.bias());
        }
        float[] masked = new float[batch * queryLength * keyLength];
        boolean any = false;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < queryLength; i++) {
                for (int j = 0; j < keyLength; j++) {
                    boolean padded = context.keyPaddingMask() != null && context.keyPaddingMask().get(b, j) != 0f;
                    boolean future = context.causal() && j > keyLength - queryLength + i;
                    if (padded || future) {
                        masked[(b * queryLength + i) * keyLength + j] = 1f;
                        any = true;
                    }
                }
            }
        }
        if (!any) {
            return scores.softmax(-1);
        }
        Tensor mask = Tensor.of(query.backend(), masked, batch, 1, queryLength, keyLength);
        // -∞ as the mechanisms mask (AttentionContext): a fully masked row is zeros
        return scores.maskedFill(mask, Float.NEGATIVE_INFINITY).softmax(-1);
    }
}
