package org.xformers4j.nn;

import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Exact softmax attention written with tensor ops, for testing {@link MultiHeadAttention} inside
 * plugin-api (the real mechanisms live in attention-plugins): scores q kᵀ / sqrt(headDim) + bias,
 * padded keys and (end-aligned) future keys masked, fully masked rows zero. With a group size g
 * it declares heads / g key-value heads and repeats each for g consecutive query heads. Its heads
 * are independent ({@link #headsIndependent()}).
 */
@ComponentInfo(name = "test-softmax", summary = "Exact softmax attention for tests",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class TestSoftmaxAttention implements AttentionMechanism {

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
        int batch = query.size(0);
        int heads = query.size(1);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        if (key.size(1) != heads) {
            int[] shared = new int[heads];
            for (int h = 0; h < heads; h++) {
                shared[h] = h / (heads / key.size(1));
            }
            key = key.indexSelect(1, shared);
            value = value.indexSelect(1, shared);
        }
        Tensor scores = query.matmul(key, false, true).mul((float) (1 / Math.sqrt(query.size(3))));
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
        Tensor weights;
        if (any) {
            Tensor mask = Tensor.of(query.backend(), masked, batch, 1, queryLength, keyLength);
            weights = scores.maskedFill(mask, -Float.MAX_VALUE).softmax(-1).maskedFill(mask, 0f);
        } else {
            weights = scores.softmax(-1);
        }
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        return weights.matmul(value);
    }
}
