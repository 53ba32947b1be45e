package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.List;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Hydra attention (Bolya et al., 2022, "Hydra Attention: Efficient Attention with Many Heads"):
 * linear attention with the cosine-similarity kernel and as many heads as features, so
 * that each head holds one feature and attention becomes elementwise:
 *
 * <pre>
 *   φ(x) = x / ||x||₂                       (over the feature dimension of one token)
 *   out_i = φ(q_i) ⊙ Σ_j φ(k_j) ⊙ v_j        (non-causal)
 *   out_i = φ(q_i) ⊙ Σ_{j ≤ i} φ(k_j) ⊙ v_j   (causal)
 * </pre>
 *
 * with q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, D] and out [B, H, Lq, D]. Time and extra
 * memory are O(N·D): the global feature {@code Σ_j φ(k_j) ⊙ v_j} is one D-vector per batch
 * element and head, and the causal prefix sums one D-vector per position (an elementwise
 * cumulative sum, differentiated by the reverse cumulative sum). No N×N matrix is ever formed.
 * There is no softmax and no normalising denominator, as in the paper: the cosine kernel is
 * bounded, so the sum needs none.
 *
 * <p><b>Heads.</b> A mechanism here receives per-head tensors from the multi-head layer, and
 * Hydra is applied within each of them: with one head of size {@code modelDim} it is exactly the
 * paper's Hydra (D heads of one feature each); with H heads each of the H heads of size D is
 * treated as Hydra over its D features, φ normalising each token's head. The layer's head count
 * is the user's choice; 1 reproduces the paper.
 *
 * <p><b>Choices the paper leaves open.</b>
 * <ul>
 *   <li>φ is {@code x / sqrt(||x||₂² + eps)} ({@code eps} configurable, default 1e-6): the paper's
 *       {@code x / ||x||₂} for any non-negligible x, finite (zero) with a finite gradient for a
 *       zero vector.</li>
 *   <li>Causal use (the paper is about non-causal vision models): the sum runs over the keys up
 *       to the query's position, a prefix sum, which keeps O(N·D). With fewer queries than keys
 *       the queries are end-aligned as in {@link AttentionContext}, so incremental decoding with a
 *       key/value cache computes what one pass over the whole sequence does. Decoding keeps
 *       instead only the running sum {@code Σ_j φ(k_j) ⊙ v_j} as a recurrent state
 *       ({@link RecurrentAttention}): D numbers per head (D·Dv/g with other value sizes), whatever
 *       the number of positions.</li>
 *   <li>Padding: a key the padding mask marks has its φ(k) set to zero, so it and its value
 *       contribute nothing to any sum; a query whose keys are all padded outputs zeros.</li>
 *   <li>Values of another size than the keys ({@code valueDim ≠ headDim}, which the
 *       {@link AttentionMechanism} interface allows): one feature per head is then impossible, and
 *       the features are split into the most heads that divide both evenly, g = gcd(D, Dv), each
 *       head holding D/g query/key features and Dv/g value features:
 *       {@code out_i[h] = φ(q_i)[h] · Σ_j φ(k_j)[h] ⊗ v_j[h]} — multi-head linear attention with
 *       the cosine kernel, which the paper starts from, with H = g heads (φ normalising the whole
 *       token, as in Hydra, not each head). It is Hydra exactly when Dv = D (g = D), and its cost is
 *       O(N·D·Dv/g).</li>
 * </ul>
 * Attention dropout and an additive bias are refused with an {@link IllegalArgumentException}:
 * there are no attention weights to drop and no scores to add a bias to.
 *
 * <p>FLOPs: the elementwise products that stand in for attention's matrix products, the state
 * Σ φ(k) ⊗ v (D·Dv/g multiply-adds per key) and φ(q) times it (as many per query), g = gcd(D, Dv):
 * forward {@code 2·B·H·(Lq + Lk)·D·Dv/g}, which is {@code 2·B·H·(Lq + Lk)·D} for Hydra proper
 * (Dv = D), backward twice that; φ's normalisation is not counted.
 */
@ComponentInfo(name = "hydra",
        summary = "Softmax-free attention with as many heads as features: L2-normalised queries times "
                + "the sum of L2-normalised keys times values, elementwise, in O(N*d)",
        reference = "Bolya et al., 2022, Hydra Attention: Efficient Attention with Many Heads")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, time = "O(N*d)", memory = "O(N*d)", linearMemory = true)
public final class HydraAttention implements RecurrentAttention, FlopCount {

    private static final String NAME = "hydra";

    @Config(description = "Added to each token's squared L2 norm before the square root in the feature map "
            + "x / sqrt(|x|^2 + eps), so that a zero vector maps to zero with a finite gradient.")
    @Range(min = 0, minInclusive = false)
    private float eps = 1e-6f;

    /** For OLCUT. */
    private HydraAttention() {
    }

    /** Hydra attention with feature map {@code x / sqrt(|x|^2 + eps)}. */
    public HydraAttention(float eps) {
        this.eps = eps;
        postConfig();
    }

    public float eps() {
        return eps;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        return attend(query, key, value, context, null).output();
    }

    /**
     * The new positions continuing the state {Σ φ(k_j) ⊙ v_j} (null before the first): [B, H, 1, D]
     * when Dv = D, otherwise [B, H, 1, g, D/g, Dv/g] (the per-head outer products of the class
     * comment).
     */
    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int d = query.size(3);
        int dv = value.size(3);
        int g = gcd(d, dv);
        int[] shape = d == dv ? new int[] {query.size(0), query.size(1), 1, d}
                : new int[] {query.size(0), query.size(1), 1, g, d / g, dv / g};
        KernelChecks.checkStep(NAME, query, key, value, context, state, shape);
        return attend(query, key, value, context, state);
    }

    /** The attention of {@link #forward} with the sums starting from {@code state} (null: zero), and the sum after the last key. */
    private Step attend(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int heads = query.size(1);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        int d = query.size(3);
        int dv = value.size(3);
        Tensor q = phi(query);
        Tensor k = phi(key);
        Tensor mask = context.keyPaddingMask();
        if (mask != null) {
            Tensor keep = mask.eq(mask.zerosLike()).reshape(batch, 1, keyLength, 1);
            k = k.mul(keep);
        }
        int g = gcd(d, dv);
        int a = d / g;
        int b = dv / g;
        // the paper's Hydra (Dv = D): one feature per head, everything elementwise; otherwise per-head outer products
        Tensor kv = d == dv ? k.mul(value) : k.reshape(batch, heads, keyLength, g, a).unsqueeze(5)
                .mul(value.reshape(batch, heads, keyLength, g, b).unsqueeze(4));
        Tensor sums = context.causal() ? kv.cumsum(2) : kv.sum(2, true);
        if (state != null) {
            sums = sums.add(state.get(0));
        }
        Tensor last = context.causal() ? sums.narrow(2, keyLength - 1, 1) : sums;
        if (context.causal()) {
            sums = endAligned(sums, queryLength);
        }
        Tensor out = d == dv ? q.mul(sums) : q.reshape(batch, heads, queryLength, g, a).unsqueeze(5).mul(sums)
                .sum(4, false).reshape(batch, heads, queryLength, dv);
        return new Step(out, List.of(last));
    }

    /** The prefix sums of the last {@code queryLength} key positions, where the end-aligned queries sit. */
    private static Tensor endAligned(Tensor prefix, int queryLength) {
        int keyLength = prefix.size(2);
        return queryLength == keyLength ? prefix : prefix.narrow(2, keyLength - queryLength, queryLength);
    }

    private Tensor phi(Tensor x) {
        return x.mul(x.pow(2f).sum(-1, true).add(eps).rsqrt());
    }

    private static int gcd(int x, int y) {
        return y == 0 ? x : gcd(y, x % y);
    }

    @Override
    public double forwardFlops(Shape shape) {
        return 2 * shape.batchHeads() * ((double) shape.queryLength() + shape.keyLength()) * shape.headDim()
                * shape.valueDim() / gcd(shape.headDim(), shape.valueDim());
    }

    @Override
    public String toString() {
        return "HydraAttention(eps=" + eps + ")";
    }
}
