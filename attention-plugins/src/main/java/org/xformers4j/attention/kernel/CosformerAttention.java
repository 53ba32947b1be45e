package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.Arrays;
import java.util.List;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionCapabilities.LengthConstraint;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.Tensor;

/**
 * cosFormer attention (Qin et al., 2022, "cosFormer: Rethinking Softmax in Attention"): kernel
 * attention with the ReLU feature map, re-weighted by the distance of query and key,
 * <pre>
 *   s(q_i, k_j) = relu(q_i)·relu(k_j) · cos(π/2 · (p(i) - j) / M)          (the paper's eq. 10)
 *   out_i = Σ_j s(q_i, k_j) v_j / (Σ_j s(q_i, k_j) + eps)     over the keys query i may see
 * </pre>
 * which cos(a - b) = cos a cos b + sin a sin b splits into two linear-attention streams, so no
 * [queryLength, keyLength] matrix is formed (eq. 11): with θ_p = π/2 · p / M,
 * <pre>
 *   φ(x, p) = [relu(x) cos θ_p, relu(x) sin θ_p]        [2D]
 *   s(q_i, k_j) = φ(q_i, p(i)) · φ(k_j, j)
 * </pre>
 * Both halves go through one kernel-attention product over 2D features: without a causal context
 * the one {@link LinearAttention} uses ({@code φkᵀ v} first), with one the fused prefix-sum op
 * {@link CausalLinearProduct} (O(2D·Dv) running state per head, no [N, 2D, Dv] tensor). Time
 * O(N·D·Dv), extra memory O(N·D + D·Dv) per head. Queries and keys are not scaled (the ratio is
 * invariant to the scale of either).
 *
 * <p><b>Positions.</b> Key j sits at position j; queries are end-aligned as everywhere in this
 * project ({@link AttentionContext}): query i of Lq over Lk keys sits at p(i) = Lk - Lq + i
 * (negative for the first queries when there are more queries than keys, in cross-attention).
 * The weight depends only on p(i) - j, so the authors' 1-based positions give the same kernel.
 * {@link #features(int, int, double[])} takes these positions, and the conformance suite's
 * {@code matches-kernel-definition} checks the mechanism against the explicit kernel matrix of
 * that map.
 *
 * <p><b>M, a choice the paper leaves open.</b> The paper asks M ≥ the sequence lengths; the authors'
 * code takes M = max(source length, target length) of each input. Here M is fixed, the option
 * {@code maxLength}, in every context, because an M taken from the input's length
 * <ul>
 *   <li>with a causal context would change the outputs of earlier tokens as the sequence grows
 *       (a prefix and the whole sequence would weigh the same keys differently), so a model
 *       would generate with other weights than it was trained with;</li>
 *   <li>without one would make a sequence's outputs depend on how far its batch is padded (the
 *       padded length would set M).</li>
 * </ul>
 * With a fixed M the weight of a distance is the same in every input. The price: M should be
 * about the longest sequence the model sees (its context length), since for inputs much shorter
 * than M every weight is close to cos 0 = 1 and the mechanism becomes plain ReLU linear
 * attention. Inputs spanning more than M positions (max(Lq, Lk) &gt; M; with a key cache, the
 * cached keys count) are refused with an {@link IllegalArgumentException}: beyond a distance of M
 * the cosine turns negative, so weights could be negative and a denominator could vanish.
 *
 * <p>Other choices the paper leaves open:
 * <ul>
 *   <li>{@code eps} is added to every denominator (the authors clamp it from below with 1e-6).
 *       ReLU features make a denominator arbitrarily small for a query with few, small positive
 *       entries, while the output does not depend on the scale of φ(q), so eps must act only on
 *       a denominator that is exactly 0 (every feature of the query, or every key it sees,
 *       zero): its default 1e-12 leaves any other denominator untouched at float32 precision.
 *       Such a query outputs zeros and passes zero gradients to the keys and values.</li>
 *   <li>A key padding mask zeroes the padded keys' features: they contribute nothing.</li>
 *   <li>An additive bias and attention dropout are rejected (no scores or weights are formed);
 *       cross-attention is supported; with a causal context there may be fewer queries than keys
 *       (end-aligned), not more.</li>
 * </ul>
 *
 * <p><b>Incremental decoding</b> ({@link RecurrentAttention}, the paper's linear-time
 * autoregressive form): the state is the running sums of both streams over the keys so far,
 * {S [B, H, 2D, Dv], z [B, H, 1, 2D], M [B, H, 1, 1]} as {@link LinearAttention} keeps them, and
 * the number of positions before the step [B, 1], from which the new positions' angles follow.
 * A step costs O(D·Dv) per new position and head, whatever the number before it, and continues
 * exactly what {@link #forward} computes over the whole sequence; the positions, cached ones
 * included, may not pass M.
 */
@ComponentInfo(name = "cosformer",
        summary = "ReLU kernel attention re-weighted by cos(pi/2*(i-j)/M), split into cos and sin streams; "
                + "linear in the length, causal by running sums",
        reference = "Qin et al., 2022, cosFormer: Rethinking Softmax in Attention")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, length = LengthConstraint.MAXIMUM, lengthOption = "maxLength",
        time = "O(N*d^2)", memory = "O(N*d + d^2)", linearMemory = true)
public final class CosformerAttention implements RecurrentAttention, KernelFeatureMap, FlopCount {

    private static final String NAME = "cosformer";

    @Config(description = "M of the re-weighting cos(pi/2*(i-j)/M): the most positions an input may span; "
            + "set it to about the model's context length.")
    @Range(min = 1)
    private int maxLength = 1024;

    @Config(description = "Added to every denominator, so that a query that sees no key (or has no positive "
            + "feature) outputs zeros.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-12f;

    /** For OLCUT. */
    private CosformerAttention() {
    }

    /** cosFormer with M = {@code maxLength} and {@code eps} added to every denominator. */
    public CosformerAttention(int maxLength, float eps) {
        this.maxLength = maxLength;
        this.eps = eps;
        postConfig();
    }

    public int maxLength() {
        return maxLength;
    }

    public float eps() {
        return eps;
    }

    /**
     * Refused: cosFormer's features depend on the position; see {@link #features(int, int, double[])}.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public double[] features(int head, double[] x) {
        throw new UnsupportedOperationException(NAME + ": the features depend on the position; call "
                + "features(head, position, x)");
    }

    /**
     * φ(x, p) = [relu(x) cos θ_p, relu(x) sin θ_p] with θ_p = π/2 · p / M, in double precision; the
     * same for every head.
     */
    @Override
    public double[] features(int head, int position, double[] x) {
        double angle = Math.PI / 2 * position / maxLength;
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        double[] out = new double[2 * x.length];
        for (int c = 0; c < x.length; c++) {
            double relu = Math.max(x[c], 0);
            out[c] = relu * cos;
            out[x.length + c] = relu * sin;
        }
        return out;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        checkSpan(query, key, Math.max(queryLength, keyLength));
        Tensor fq = reweighted(query.relu(), keyLength - queryLength);
        Tensor fk = reweighted(keyFeatures(key, context), 0);
        return context.causal() ? new CausalLinearProduct(eps).apply(fq, fk, value)
                : LinearAttention.nonCausal(fq, fk, value, eps);
    }

    /**
     * The new positions continuing {S [B, H, 2D, Dv], z [B, H, 1, 2D], M [B, H, 1, 1], positions
     * before the step [B, 1]} (null before the first): the new keys and queries at the positions
     * after the earlier ones, their sums starting from the state.
     */
    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int heads = query.size(1);
        int features = 2 * query.size(3);
        KernelChecks.checkStep(NAME, query, key, value, context, state,
                new int[] {batch, heads, features, value.size(3)}, new int[] {batch, heads, 1, features},
                new int[] {batch, heads, 1, 1}, new int[] {batch, 1});
        int past = state == null ? 0 : earlierPositions(state.get(3));
        int length = key.size(2);
        checkSpan(query, key, past + length);
        Tensor fq = reweighted(query.relu(), past);
        Tensor fk = reweighted(keyFeatures(key, context), past);
        KernelProduct product = new KernelProduct(ElementwiseFeatureMap.IDENTITY, context.causal(), eps, null,
                state == null ? null : state.subList(0, 3));
        Tensor out = product.apply(fq, fk, value);
        float[] positions = new float[batch];
        Arrays.fill(positions, past + length);
        List<Tensor> sums = product.state();
        return new Step(out, List.of(sums.get(0), sums.get(1), sums.get(2),
                Tensor.of(query.backend(), positions, batch, 1)));
    }

    /** The positions a state summarises, the same for every row of the batch. */
    private static int earlierPositions(Tensor positions) {
        float[] rows = positions.toFloatArray();
        for (float row : rows) {
            if (row != rows[0] || row < 0 || row != Math.rint(row)) {
                throw new IllegalArgumentException(NAME + ": the recurrent state counts " + Arrays.toString(rows)
                        + " earlier positions; every row must count the same whole number");
            }
        }
        return (int) rows[0];
    }

    /** Refuses inputs spanning more than M positions. */
    private void checkSpan(Tensor query, Tensor key, int span) {
        if (span > maxLength) {
            throw new IllegalArgumentException(NAME + ": query " + KernelChecks.shape(query) + " and key "
                    + KernelChecks.shape(key) + " span " + span + " positions, more than "
                    + "maxLength = " + maxLength + " (the M of cos(pi/2*(i-j)/M), which is positive only for "
                    + "|i-j| < M); set maxLength to at least the longest sequence, cached keys included");
        }
    }

    /** relu(k), zero for padded keys. */
    private static Tensor keyFeatures(Tensor key, AttentionContext context) {
        Tensor fk = key.relu();
        Tensor mask = context.keyPaddingMask();
        return mask == null ? fk : fk.maskedFill(mask.reshape(key.size(0), 1, key.size(2), 1), 0f);
    }

    /**
     * [x cos θ_p, x sin θ_p] along the features, for x [B, H, L, D] at positions p = first, first + 1,
     * ...: [B, H, L, 2D].
     */
    private Tensor reweighted(Tensor x, int first) {
        int length = x.size(2);
        float[] cos = new float[length];
        float[] sin = new float[length];
        for (int p = 0; p < length; p++) {
            double angle = Math.PI / 2 * (first + p) / maxLength;
            cos[p] = (float) Math.cos(angle);
            sin[p] = (float) Math.sin(angle);
        }
        return Tensor.concat(3, x.mul(Tensor.of(x.backend(), cos, 1, 1, length, 1)),
                x.mul(Tensor.of(x.backend(), sin, 1, 1, length, 1)));
    }

    /** The linear-attention product ({@link KernelFlops}) on the 2·d cos and sin features. */
    @Override
    public double forwardFlops(Shape shape) {
        return KernelFlops.forward(shape, 2 * shape.headDim());
    }

    @Override
    public double backwardFlops(Shape shape) {
        return KernelFlops.backward(shape, 2 * shape.headDim());
    }

    @Override
    public String toString() {
        return "CosformerAttention(maxLength=" + maxLength + ", eps=" + eps + ")";
    }
}
