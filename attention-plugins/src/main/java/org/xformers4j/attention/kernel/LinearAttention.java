package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.List;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Linear attention (Katharopoulos et al., 2020, "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention"): the softmax similarity is replaced by the kernel
 * {@code φ(q)·φ(k)} with the feature map {@code φ(x) = elu(x) + 1} (§3.2.1, eq. 7), and the
 * product is reassociated so that no [queryLength, keyLength] matrix is formed:
 * <pre>
 *   φq = elu(q) + 1 [B, H, Lq, D],  φk = (elu(k) + 1) with padded keys zeroed [B, H, Lk, D]
 *   non-causal:  S = φkᵀ v [B, H, D, Dv],  z = Σ_j φk_j [B, H, 1, D]
 *                out_i = φq_i S / (φq_i · z + eps)                       O(N·D·Dv) time
 *   causal:      the same with S and z summed over the keys j &lt;= p(i) only, p(i) = Lk - Lq + i
 *                (queries end-aligned as in {@link AttentionContext}), by the fused
 *                {@link CausalLinearProduct}: O(D·Dv) running state per head, forward scan over
 *                j = 0 .. Lk-1, backward scanning again and in reverse (the paper's Algorithm 1)
 * </pre>
 * Queries and keys are not scaled (the kernel has no temperature), as in the paper and in
 * fast-transformers' {@code LinearAttention}.
 *
 * <p>Choices the paper leaves open:
 * <ul>
 *   <li>{@code eps} (default 1e-6, fast-transformers' value) is added to every denominator. φ is
 *       positive, so the denominator is positive whenever the query sees a key; eps only matters
 *       for a query whose keys are all padded, whose numerator and denominator are then exactly 0:
 *       it outputs zeros and passes zero gradients to its query, keys and values.</li>
 *   <li>φ is computed in float32 as {@code elu(x) + 1}; for x &lt; 0 that is 1 + (eˣ - 1), with an
 *       absolute error of about 6e-8, so a feature of a very negative input (eˣ below 1e-7) may
 *       round to 0.</li>
 *   <li>A key padding mask zeroes the padded keys' features: they contribute nothing to S or z.</li>
 *   <li>An additive bias has no scores to be added to and is rejected, as is attention dropout
 *       (there are no attention weights to drop); both raise {@link IllegalArgumentException}.</li>
 *   <li>Cross-attention (another key length) is supported without a causal context; with one,
 *       there may be fewer queries than keys (end-aligned) but not more.</li>
 *   <li>Incremental decoding keeps S and z instead of the keys and values (the "RNN view", §3.4;
 *       {@link RecurrentAttention}): the state is {S [B, H, D, Dv], z [B, H, 1, D]}, O(D·Dv) per
 *       head whatever the number of positions, and a step over n new positions costs O(n·D·Dv).
 *       Within a step the sums are accumulated in double precision as in one causal pass; between
 *       steps they are kept in float32 (as fast-transformers' {@code RecurrentLinearAttention}
 *       keeps its state in the model's precision), so after t single-token steps the state carries
 *       t roundings of about 6e-8 relative each.</li>
 * </ul>
 * Time O(N·D·Dv), extra memory O(N·D + D·Dv) per head, forward and backward.
 */
@ComponentInfo(name = "linear",
        summary = "Kernel attention with the feature map elu(x)+1, linear in the length; causal by running sums",
        reference = "Katharopoulos et al., 2020, Transformers are RNNs: Fast Autoregressive Transformers "
                + "with Linear Attention")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, time = "O(N*d^2)", memory = "O(N*d + d^2)")
public final class LinearAttention implements RecurrentAttention, KernelFeatureMap {

    private static final String NAME = "linear";

    @Config(description = "Added to every denominator φ(q)·Σφ(k), so that a query whose keys are all "
            + "padded outputs zeros.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-6f;

    /** For OLCUT. */
    private LinearAttention() {
    }

    /** Linear attention with {@code eps} added to every denominator. */
    public LinearAttention(float eps) {
        this.eps = eps;
        postConfig();
    }

    public float eps() {
        return eps;
    }

    /** φ(x) = elu(x) + 1 = x + 1 for x &gt; 0, eˣ otherwise, in double precision; the same for every head. */
    @Override
    public double[] features(int head, double[] x) {
        double[] out = new double[x.length];
        for (int c = 0; c < x.length; c++) {
            out[c] = x[c] > 0 ? x[c] + 1 : Math.exp(x[c]);
        }
        return out;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        return attend(query, key, value, context, null).output();
    }

    /**
     * The new positions continuing {S [B, H, D, Dv], z [B, H, 1, D]} (null before the first):
     * the same product as {@link #forward} with the sums starting from the state.
     */
    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int heads = query.size(1);
        int d = query.size(3);
        KernelChecks.checkStep(NAME, query, key, value, context, state, new int[] {batch, heads, d, value.size(3)},
                new int[] {batch, heads, 1, d});
        return attend(query, key, value, context, state);
    }

    private Step attend(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        Tensor fq = featureMap(query);
        Tensor fk = featureMap(key);
        Tensor mask = context.keyPaddingMask();
        if (mask != null) {
            fk = fk.maskedFill(mask.reshape(key.size(0), 1, key.size(2), 1), 0f);
        }
        return product(fq, fk, value, context.causal(), eps, state);
    }

    /** φ(x) = elu(x) + 1, elementwise. */
    private static Tensor featureMap(Tensor x) {
        return x.elu(1f).add(1f);
    }

    /**
     * The non-causal kernel-attention product on feature-mapped queries and keys (padded keys'
     * features already zeroed): out = φq (φkᵀ v) / (φq · Σ_j φk_j + eps), through the tensor ops
     * and their autograd, without a [Lq, Lk] matrix. Shared by the kernel attentions of this
     * package that have no product of their own.
     *
     * @param fq [B, H, Lq, F], fk [B, H, Lk, F], value [B, H, Lk, Dv]; returns [B, H, Lq, Dv]
     */
    static Tensor nonCausal(Tensor fq, Tensor fk, Tensor value, float eps) {
        return product(fq, fk, value, false, eps, null).output();
    }

    /**
     * The kernel-attention product on feature-mapped queries and keys (padded keys' features
     * already zeroed), causal by {@link CausalLinearProduct} or not as {@link #nonCausal}, with
     * the sums S = Σ φk_j v_jᵀ and z = Σ φk_j starting from {@code state} = {S [B, H, F, Dv],
     * z [B, H, 1, F]} (null for zeros): the outputs and the state after the last key, for the
     * recurrent decoding of the kernel attentions of this package.
     */
    static Step product(Tensor fq, Tensor fk, Tensor value, boolean causal, float eps, List<Tensor> state) {
        if (causal) {
            CausalLinearProduct op = new CausalLinearProduct(eps, state);
            Tensor out = op.apply(fq, fk, value);
            return new Step(out, op.state());
        }
        Tensor sum = fk.matmul(value, true, false);
        Tensor normaliser = fk.sum(2, true);
        if (state != null) {
            sum = sum.add(state.get(0));
            normaliser = normaliser.add(state.get(1));
        }
        Tensor numerator = fq.matmul(sum);
        Tensor denominator = fq.mul(normaliser).sum(3, true).add(eps);
        return new Step(numerator.div(denominator), List.of(sum, normaliser));
    }

    @Override
    public String toString() {
        return "LinearAttention(eps=" + eps + ")";
    }
}
