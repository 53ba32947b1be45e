package org.xformers4j.nn;

import java.util.List;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Kernel attention with φ(x) = elu(x) + 1 (Katharopoulos et al., 2020, "Transformers are RNNs")
 * written with tensor ops on the explicit kernel matrix, for testing the recurrent decoding of
 * {@link MultiHeadAttention} inside plugin-api (the real kernel attentions live in
 * attention-plugins): out_i = Σ_j κ_ij v_j / (Σ_j κ_ij + eps) with κ_ij = φ(q_i)·φ(k_j), padded
 * and (end-aligned) future keys at κ = 0. Its recurrent state is {S = Σ φ(k_j) v_jᵀ [B, H, D, Dv],
 * z = Σ φ(k_j) [B, H, 1, D]}. A bias b multiplies κ by exp(b), so -∞ masks as everywhere; it is
 * declared only so that the layer's refusal of a bias during recurrent decoding can be tested.
 */
@ComponentInfo(name = "test-linear", summary = "Linear attention on the explicit kernel matrix, for tests",
        reference = "Katharopoulos et al., 2020, Transformers are RNNs")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = false, time = "O(N^2)", memory = "O(N^2)")
public final class TestLinearAttention implements RecurrentAttention {

    private static final float EPS = 1e-6f;

    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        return attend(query, key, value, context, null).output();
    }

    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        return attend(query, key, value, context, state);
    }

    private static Step attend(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        Tensor fq = query.elu(1f).add(1f);
        Tensor fk = key.elu(1f).add(1f);
        Tensor mask = context.keyPaddingMask();
        if (mask != null) {
            fk = fk.maskedFill(mask.reshape(batch, 1, keyLength, 1), 0f);
        }
        Tensor kernel = fq.matmul(fk, false, true);                                     // [B, H, Lq, Lk]
        if (context.bias() != null) {
            kernel = kernel.mul(context.bias().exp());
        }
        if (context.causal()) {
            float[] future = new float[queryLength * keyLength];
            for (int i = 0; i < queryLength; i++) {
                for (int j = keyLength - queryLength + i + 1; j < keyLength; j++) {
                    future[i * keyLength + j] = 1f;
                }
            }
            kernel = kernel.maskedFill(Tensor.of(future, queryLength, keyLength), 0f);
        }
        Tensor numerator = kernel.matmul(value);
        Tensor denominator = kernel.sum(3, true);
        Tensor sum = fk.matmul(value, true, false);
        Tensor normaliser = fk.sum(2, true);
        if (state != null) {
            numerator = numerator.add(fq.matmul(state.get(0)));
            denominator = denominator.add(fq.mul(state.get(1)).sum(3, true));
            sum = sum.add(state.get(0));
            normaliser = normaliser.add(state.get(1));
        }
        return new Step(numerator.div(denominator.add(EPS)), List.of(sum, normaliser));
    }
}
