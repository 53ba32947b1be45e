package org.xformers4j.attention.mixing;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Tensor;

/**
 * Cross-covariance attention, XCA (El-Nouby et al., 2021, "XCiT: Cross-Covariance Image
 * Transformers", §3.1 and the authors' {@code XCA} in {@code xcit.py}), as EdgeNeXt uses it (Maaz
 * et al., 2022, "EdgeNeXt: Efficiently Amalgamated CNN-Transformer Architecture for Mobile Vision
 * Applications", its STDA encoder): "transposed" attention, across the channels instead of the
 * tokens. Each channel is normalised over the tokens, and the channels attend to each other by a
 * softmax of their cross-covariance, a small channel-by-channel matrix:
 * <pre>
 *   x̂[:, c] = x[:, c] / |x[:, c]|                  (L2 over the tokens of one channel)
 *   A = softmax_row(τ_h · Q̂ᵀ K̂)                    [channels of Q × channels of K]
 *   out = V Aᵀ,  out[n, i] = Σ_j A[i, j] V[n, j]     (the authors' (attn @ v) with v as [channels, N])
 * </pre>
 * with a learned temperature τ_h per head (initialised to 1, without weight decay, as the
 * authors'). Time O(N·d·Dv), extra memory O(N·d + d·Dv) per head: A is d×Dv, never N×N, so the
 * cost is linear in the number of tokens. It is not softmax attention over the tokens and does not
 * approximate it: A weighs channels, not tokens, so there are no token-to-token weights to report
 * ({@code WeightedAttention} is not implemented).
 *
 * <p><b>Where XCiT's queries, keys and values go.</b> In XCiT output channel i is row i of A, so
 * the output has the width of XCiT's queries, and XCiT's values share the width of its keys (A
 * mixes the values' channels). The interface gives the values their own width Dv (which may differ from
 * the head size d) and asks for outputs of that width, so the roles go by width: XCiT's queries
 * are the values v [N, Dv], XCiT's keys the keys k [N, d], XCiT's values the queries q [N, d]:
 * <pre>
 *   A = softmax_row(τ_h · v̂ᵀ k̂)   [Dv × d],    out = q Aᵀ   [N, Dv]
 * </pre>
 * In a multi-head layer the three are independent learned projections of the same tokens, so this
 * is a renaming of them: the layer learns the same functions as XCiT's module (whose heads and
 * temperature are the layer's heads and τ), whichever projection is called what.
 *
 * <p><b>Choices the paper leaves open, or that this interface forces.</b>
 * <ul>
 *   <li>Every L2 norm is {@code sqrt(Σ x² + eps)} ({@code eps} configurable, default 1e-12): an all-zero channel
 *       stays zero with finite gradients. The authors' {@code F.normalize} divides by
 *       {@code max(|x|, 1e-12)} instead, which differs only for norms below about 1e-6.</li>
 *   <li>Padding: the padded tokens of q, k and v are set to zero before the normalisation, so
 *       they take no part in the channel norms or in A, and their output rows are zero: a padded
 *       sequence computes what it would alone, and one whose tokens are all padded outputs zeros
 *       (A is then uniform, applied to zeros).</li>
 *   <li>Causal use is refused: the channel norms and A sum over every token. Cross-attention and
 *       fewer queries than keys are refused: A compares channels over the same tokens. An
 *       additive bias is refused (no token scores), and so is attention dropout (the authors'
 *       {@code attn_drop} on A is 0 in every XCiT and EdgeNeXt model).</li>
 * </ul>
 *
 * <p>FLOPs, the two products v̂ᵀk̂ and q Aᵀ (N·d·Dv multiply-adds each): forward
 * {@code 4·B·H·N·d·Dv}, backward twice that; the normalisations and the d×Dv softmax are not
 * counted.
 */
@ComponentInfo(name = "xca",
        summary = "Cross-covariance attention (XCiT, EdgeNeXt): softmax over the channel-by-channel cross-covariance "
                + "of L2-normalised columns with a learned temperature per head; linear in N",
        reference = "El-Nouby et al., 2021, XCiT: Cross-Covariance Image Transformers")
@AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, time = "O(N*d^2)", memory = "O(N*d + d^2)", linearMemory = true)
public final class CrossCovarianceAttention extends MixingMechanism {

    private static final String NAME = "xca";

    private static final String CAUSAL_REFUSAL = "the channels are normalised and compared over every token of the "
            + "sequence, so every output depends on later positions; use it for encoders";

    @Config(description = "Added to every squared L2 norm before the square root, so that an all-zero channel "
            + "normalises to zero with finite gradients.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-12f;

    /** [H]: each head's temperature τ. */
    private Tensor temperature;

    /** For OLCUT. */
    private CrossCovarianceAttention() {
        super(NAME);
    }

    /** XCA with {@code eps} added to the squared channel norms. */
    public CrossCovarianceAttention(float eps) {
        super(NAME);
        this.eps = eps;
        postConfig();
    }

    public float eps() {
        return eps;
    }

    @Override
    void createParameters(RandomGenerator rng) {
        temperature = registerParameter("temperature", Tensor.full(1f, heads), false);
    }

    /** q [B, H, N, d], k [B, H, N, d], v [B, H, N, Dv] → [B, H, N, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        check(query, key, value, context, CAUSAL_REFUSAL, false);
        Tensor padding = padding(context);
        Tensor rows = l2Normalize(zeroPadded(value, padding), 2, eps);                     // XCiT's queries
        Tensor columns = l2Normalize(zeroPadded(key, padding), 2, eps);                    // XCiT's keys
        Tensor weights = rows.matmul(columns, true, false)                              // [B, H, Dv, d]
                .mul(temperature.reshape(1, heads, 1, 1)).softmax(3);
        return zeroPadded(query, padding).matmul(weights, false, true);                   // [B, H, N, Dv]
    }

    @Override
    public double forwardFlops(Shape shape) {
        return 4 * shape.batchHeads() * shape.keyLength() * shape.headDim() * shape.valueDim();
    }

    @Override
    public String toString() {
        return "CrossCovarianceAttention(eps=" + eps + ")";
    }
}
