package org.xformers4j.models.nn;

import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code full} attention that reports its weights ({@link WeightedAttention}), for the tests of
 * token selection and attention maps whatever the registered mechanisms declare: the weights are
 * its own output for the identity matrix as values, W · I = W, so they are exactly what it applies.
 */
@ComponentInfo(name = WeightedFullAttention.NAME, summary = "Full attention reporting its weights, for tests",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
public final class WeightedFullAttention implements WeightedAttention {

    /** The name {@link WeightedRegistry} creates it by. */
    public static final String NAME = "test-weighted-full";

    private final FullAttention full = new FullAttention(0f);

    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        return full.forward(query, key, value, context);
    }

    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        int batch = key.size(0);
        int heads = key.size(1);
        int keys = key.size(2);
        float[] identity = new float[batch * heads * keys * keys];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int j = 0; j < keys; j++) {
                identity[(bh * keys + j) * keys + j] = 1f;
            }
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return full.forward(query, key, Tensor.of(key.backend(), identity, batch, heads, keys, keys),
                    context.toBuilder().dropout(0f, null).build());
        }
    }
}
