package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.List;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Linear attention (Katharopoulos et al., 2020, "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention"): the softmax similarity is replaced by the kernel
 * {@code φ(q)·φ(k)} with the feature map {@code φ(x) = elu(x) + 1} (§3.2.1, eq. 7), and the
 * product is reassociated so that no [queryLength, keyLength] matrix is formed:
 * <pre>
 *   φq_i = elu(q_i) + 1,  φk_j = elu(k_j) + 1 (padded keys left out)
 *   non-causal:  S = Σ_j φk_j v_jᵀ [D, Dv],  z = Σ_j φk_j [D]    per batch element and head
 *                out_i = φq_iᵀ S / (φq_i · z + eps)                       O(N·D·Dv) time
 *   causal:      the same with S and z summed over the keys j &lt;= p(i) only, p(i) = Lk - Lq + i
 *                (queries end-aligned as in {@link AttentionContext}): running sums, the paper's
 *                Algorithm 1
 * </pre>
 * Both are one fused op with its own backward ({@link KernelProduct}) that applies φ row by row
 * inside its scans and recomputes it in the backward: besides the output and the input gradients
 * it keeps one float per query (and per key when causal) and O(D·Dv) per head, never a tensor of
 * features, prefix states or scores.
 * Queries and keys are not scaled (the kernel has no temperature), as in the paper and in
 * fast-transformers' {@code LinearAttention}.
 *
 * <p>Choices the paper leaves open:
 * <ul>
 *   <li>{@code eps} (default 1e-6, fast-transformers' value) is added to every denominator. φ is
 *       positive, so the denominator is positive whenever the query sees a key; eps only matters
 *       for a query whose keys are all padded, whose numerator and denominator are then exactly 0:
 *       it outputs zeros and passes zero gradients to its query, keys and values.</li>
 *   <li>φ is computed in double precision (x + 1 or eˣ), as are the sums and products; inputs,
 *       outputs and gradients are float32.</li>
 *   <li>A key padding mask leaves the padded keys out: they contribute nothing to S or z.</li>
 *   <li>An additive bias has no scores to be added to and is rejected, as is attention dropout
 *       (there are no attention weights to drop); both raise {@link IllegalArgumentException}.</li>
 *   <li>Cross-attention (another key length) is supported without a causal context; with one,
 *       there may be fewer queries than keys (end-aligned) but not more.</li>
 *   <li>Incremental decoding keeps S and z instead of the keys and values (the "RNN view", §3.4;
 *       {@link RecurrentAttention}): the state is {S [B, H, D, Dv], z [B, H, 1, D], M [B, H, 1, 1]},
 *       O(D·Dv) per head whatever the number of positions (M, {@link KernelProduct}'s stabiliser,
 *       is 0 here: elu + 1 cannot overflow), and a step over n new positions costs O(n·D·Dv).
 *       Within a step the sums are accumulated in double precision as in one causal pass; between
 *       steps they are kept in float32 (as fast-transformers' {@code RecurrentLinearAttention}
 *       keeps its state in the model's precision), so after t single-token steps the state carries
 *       t roundings of about 6e-8 relative each.</li>
 * </ul>
 * Time O(N·D·Dv); memory besides the output and the input gradients O(N + D·Dv) per head, forward
 * and backward. FLOPs: the kernel product with F = D features ({@link KernelFlops}), forward
 * {@code 2·B·H·(Lq + Lk)·D·(Dv + 1)}; the elementwise feature map is not counted.
 */
@ComponentInfo(name = "linear",
        summary = "Kernel attention with the feature map elu(x)+1, linear in the length; causal by running sums",
        reference = "Katharopoulos et al., 2020, Transformers are RNNs: Fast Autoregressive Transformers "
                + "with Linear Attention")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, time = "O(N*d^2)", memory = "O(N*d + d^2)", linearMemory = true)
public final class LinearAttention implements RecurrentAttention, KernelFeatureMap, FlopCount {

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
        ElementwiseFeatureMap.ELU_PLUS_ONE.apply(x, out);
        return out;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        return product(context, null).apply(query, key, value);
    }

    /**
     * The new positions continuing {S [B, H, D, Dv], z [B, H, 1, D], M [B, H, 1, 1]} (null before
     * the first): the same product as {@link #forward} with the sums starting from the state.
     */
    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int heads = query.size(1);
        int d = query.size(3);
        KernelChecks.checkStep(NAME, query, key, value, context, state, new int[] {batch, heads, d, value.size(3)},
                new int[] {batch, heads, 1, d}, new int[] {batch, heads, 1, 1});
        KernelProduct product = product(context, state);
        return new Step(product.apply(query, key, value), product.state());
    }

    private KernelProduct product(AttentionContext context, List<Tensor> state) {
        return new KernelProduct(ElementwiseFeatureMap.ELU_PLUS_ONE, context.causal(), eps, context.keyPaddingMask(),
                state);
    }

    /**
     * The non-causal kernel-attention product on feature-mapped queries and keys (padded keys'
     * features already zeroed), out = φq (φkᵀ v) / (φq · Σ_j φk_j + eps), by the fused
     * {@link KernelProduct} without a [Lq, Lk] matrix: for the kernel attentions of this package
     * whose feature map is not a row-wise {@link FeatureMap} (the causal one is
     * {@link CausalLinearProduct}).
     *
     * @param fq [B, H, Lq, F], fk [B, H, Lk, F], value [B, H, Lk, Dv]; returns [B, H, Lq, Dv]
     */
    static Tensor nonCausal(Tensor fq, Tensor fk, Tensor value, float eps) {
        return new KernelProduct(ElementwiseFeatureMap.IDENTITY, false, eps, null, null).apply(fq, fk, value);
    }

    @Override
    public double forwardFlops(Shape shape) {
        return KernelFlops.forward(shape, shape.headDim());
    }

    @Override
    public double backwardFlops(Shape shape) {
        return KernelFlops.backward(shape, shape.headDim());
    }

    @Override
    public String toString() {
        return "LinearAttention(eps=" + eps + ")";
    }
}
