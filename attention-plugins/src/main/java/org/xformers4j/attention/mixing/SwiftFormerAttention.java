package org.xformers4j.attention.mixing;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.Init;
import org.xformers4j.tensor.Tensor;

/**
 * Efficient additive attention of SwiftFormer (Shaker et al., 2023, "SwiftFormer: Efficient
 * Additive Attention for Transformer-based Real-time Mobile Vision Applications", §3.3 and the
 * authors' {@code EfficientAdditiveAttnetion} in {@code models/swiftformer.py}): no query-key
 * product at all. A learned vector pools the queries into one global query, which modulates every
 * key elementwise; a learned linear transform of that replaces the key-value interaction, and
 * each token's own normalised content is added back. Per batch element and head, over the tokens
 * n of the sequence (the unpadded ones):
 * <pre>
 *   q̂_n = q_n / |q_n|,  k̂_n = k_n / |k_n|,  v̂_n = v_n / |v_n|     (L2 over the channels of each token)
 *   s_n = q̂_n · w_h / sqrt(d)                                        w_h [d]: learned
 *   α = s / |s|       (pooling L2, the authors' code: L2 over the tokens)
 *   α = softmax(s)    (pooling SOFTMAX: the additive attention of Fastformer, Wu et al., 2021,
 *                      which SwiftFormer simplifies)
 *   g = Σ_n α_n q̂_n                                                  the global query [d]
 *   out_n = (g ⊙ k̂_n) T_h + v̂_n                                      T_h [d, Dv]: learned
 * </pre>
 * with q, k [B, H, N, d], v [B, H, N, Dv], out [B, H, N, Dv]. Time O(N·d·Dv), extra memory
 * O(N·(d + Dv)): g is one d-vector per head, nothing N×N is formed. It is not softmax attention
 * and does not approximate it (no token-to-token weights exist), so it does not report weights
 * ({@code WeightedAttention}).
 *
 * <p><b>Where the authors' projections go.</b> Their {@code to_query} and {@code to_key} are the
 * layer's query and key projections ({@code q}, {@code k} here), their {@code w_g} is {@code w}
 * (one per head, drawn from N(0, 1) as their {@code torch.randn}), their {@code Proj} is
 * {@code T} (one per head, drawn from U(-1/sqrt(d), 1/sqrt(d)) as {@code nn.Linear}) and their
 * {@code final} is the layer's output projection. Their query plays two parts, pooled into g and
 * added back to the output; the second needs the output's width, which the interface gives the
 * values (Dv, possibly other than d), so the layer's value projection takes it, normalised as
 * their query is: every projection of the layer is used, and the authors' module is the case of a
 * value projection equal to the query projection. With one head of the model's width this is their
 * module ({@code num_heads = 1} in every SwiftFormer); with H heads each head pools, modulates and
 * transforms its own channels. {@code Proj}'s bias is left out: a constant added to every token,
 * it passes through the layer's output projection to its bias.
 *
 * <p><b>Choices the paper leaves open, or that this interface forces.</b>
 * <ul>
 *   <li>Every L2 norm is {@code sqrt(Σ x² + eps)} ({@code eps} configurable, default 1e-12): a zero vector
 *       stays zero with finite gradients. The authors' {@code F.normalize} divides by
 *       {@code max(|x|, 1e-12)} instead, which differs only for norms below about 1e-6.</li>
 *   <li>Padding: a padded token takes no part in the pooling (its s_n is left out of the L2 norm,
 *       or masked from the softmax), and its output row is zero; it has no influence on any other
 *       token, and a sequence whose tokens are all padded outputs zeros.</li>
 *   <li>Causal use is refused: the global query pools every token, so every output depends on
 *       later positions. Cross-attention and fewer queries than keys are refused: each output row
 *       belongs to one token of the one sequence. An additive bias and attention dropout are
 *       refused: there are no scores and no attention weights.</li>
 * </ul>
 *
 * <p>FLOPs, the products: the pooling scores q̂·w and the pooled sum Σ α q̂ (d multiply-adds per
 * token each) and the transform (g ⊙ k̂) T (d·Dv per token): forward {@code 2·B·H·N·(2·d + d·Dv)},
 * backward twice that; the normalisations and elementwise products are not counted.
 */
@ComponentInfo(name = "swiftformer",
        summary = "SwiftFormer efficient additive attention: queries pooled into one global query by a learned "
                + "vector, times each key, a learned linear transform, plus the token; linear in N",
        reference = "Shaker et al., 2023, SwiftFormer: Efficient Additive Attention for Transformer-based Real-time "
                + "Mobile Vision Applications")
@AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, time = "O(N*d^2)", memory = "O(N*d)", linearMemory = true)
public final class SwiftFormerAttention extends MixingMechanism {

    private static final String NAME = "swiftformer";

    private static final String CAUSAL_REFUSAL = "the global query pools every token of the sequence, so every "
            + "output depends on later positions; use it for encoders";

    /** How the pooling scores s become the pooling weights α. */
    public enum Pooling {
        /** α = s / |s|, L2 over the tokens: the authors' code. */
        L2,
        /** α = softmax(s) over the tokens: Fastformer's additive attention. */
        SOFTMAX
    }

    @Config(description = "How the queries' pooling scores become weights: L2 (divided by their L2 norm over the "
            + "tokens, the authors' code) or SOFTMAX (Fastformer's additive attention).")
    private Pooling pooling = Pooling.L2;

    @Config(description = "Added to every squared L2 norm before the square root, so that a zero vector normalises "
            + "to zero with finite gradients.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-12f;

    /** [H, d]: each head's pooling vector w. */
    private Tensor pool;
    /** [H, d, Dv]: each head's transform T of the modulated keys. */
    private Tensor transform;

    /** For OLCUT. */
    private SwiftFormerAttention() {
        super(NAME);
    }

    /** SwiftFormer attention with the given pooling and {@code eps} added to the squared norms. */
    public SwiftFormerAttention(Pooling pooling, float eps) {
        super(NAME);
        this.pooling = pooling;
        this.eps = eps;
        postConfig();
    }

    public Pooling pooling() {
        return pooling;
    }

    public float eps() {
        return eps;
    }

    @Override
    void createParameters(RandomGenerator rng) {
        float bound = (float) (1 / Math.sqrt(headDim));
        pool = registerParameter("pool", Init.normal(rng, 0f, 1f, heads, headDim));
        transform = registerParameter("transform", Init.uniform(rng, -bound, bound, heads, headDim, valueDim));
    }

    /** q [B, H, N, d], k [B, H, N, d], v [B, H, N, Dv] → [B, H, N, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        check(query, key, value, context, CAUSAL_REFUSAL, false);
        Tensor padding = padding(context);
        Tensor q = l2Normalize(query, 3, eps);
        Tensor scores = q.matmul(pool.reshape(1, heads, headDim, 1)).mul((float) (1 / Math.sqrt(headDim)));
        Tensor global = poolingWeights(scores, padding).matmul(q, true, false);       // [B, H, 1, d]
        Tensor modulated = global.mul(l2Normalize(key, 3, eps)).matmul(transform); // [B, H, N, Dv]
        return zeroPadded(modulated.add(l2Normalize(value, 3, eps)), padding);
    }

    /** α [B, H, N, 1] from the scores s [B, H, N, 1], the padded tokens left out. */
    private Tensor poolingWeights(Tensor scores, Tensor padding) {
        if (pooling == Pooling.SOFTMAX) {
            return (padding == null ? scores : scores.maskedFill(padding, Float.NEGATIVE_INFINITY)).softmax(2);
        }
        return l2Normalize(zeroPadded(scores, padding), 2, eps);
    }

    @Override
    public double forwardFlops(Shape shape) {
        double d = shape.headDim();
        return 2 * shape.batchHeads() * shape.keyLength() * (2 * d + d * shape.valueDim());
    }

    @Override
    public String toString() {
        return "SwiftFormerAttention(pooling=" + pooling + ", eps=" + eps + ")";
    }
}
