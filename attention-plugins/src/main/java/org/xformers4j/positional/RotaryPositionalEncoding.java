package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.Tensor;

/**
 * Rotary position embedding (Su et al., 2021, "RoFormer: Enhanced Transformer with Rotary
 * Position Embedding"): each query and key head vector is rotated pairwise by angles proportional
 * to its position, so that the score q'_n·k'_m depends on the positions only through n − m.
 * Pair i of the {@code rotaryDim} rotated dimensions turns by p·θ_i with
 * <pre>
 *   θ_i = base^(−2i / rotaryDim),   i = 0 … rotaryDim/2 − 1,
 * </pre>
 * queries at positions queryOffset + t and keys at keyOffset + t. Pairs are (x[i], x[i +
 * rotaryDim/2]), the GPT-NeoX / Llama "rotate half" layout, not RoFormer's interleaved (x[2i],
 * x[2i+1]); see {@link Rotation}. A rotation preserves the norm of each pair, hence of each head
 * vector.
 *
 * <p>{@code rotaryDim} 0 rotates the whole head; a smaller even value (partial rotary, as in
 * GPT-NeoX and GPT-J) rotates the first rotaryDim dimensions of each head and passes the rest
 * through unchanged. It is checked against the head dimension of the queries at each call.
 *
 * <p>{@code interpolationFactor} divides every position before the angles are taken: position
 * interpolation (Chen et al., 2023, "Extending Context Window of Large Language Models via
 * Positional Interpolation"), which maps a context interpolationFactor times longer than the
 * training length onto the angles seen in training, to be followed by a short fine-tune.
 *
 * <p>Nothing is learned and every position has angles, so any length and offset work; keys may
 * have fewer heads than queries (grouped-query attention). The tables are computed in double on
 * the host and the rotation is tensor ops, differentiable in the queries and keys.
 */
@ComponentInfo(name = "rotary",
        summary = "Rotates queries and keys pairwise by position-proportional angles, so scores depend on relative position",
        reference = "Su et al., 2021, RoFormer: Enhanced Transformer with Rotary Position Embedding")
@PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = true)
public final class RotaryPositionalEncoding implements PositionalEncoding {

    private static final String NAME = "rotary";

    @Config(description = "Base of the geometric progression of rotation frequencies, θ_i = base^(-2i/rotaryDim).")
    @Range(min = 1, minInclusive = false, maxInclusive = false)
    private double base = 10000;

    @Config(description = "Number of leading dimensions of each head to rotate (even, at most the head dimension); "
            + "0 rotates the whole head.")
    @Range(min = 0)
    private int rotaryDim = 0;

    @Config(description = "Positions are divided by this factor before rotation (position interpolation); "
            + "1 leaves them unchanged.")
    @Range(min = 1, maxInclusive = false)
    private double interpolationFactor = 1;

    private Rotation rotation;

    /** For OLCUT. */
    private RotaryPositionalEncoding() {
    }

    /**
     * A rotary encoding with frequencies base^(−2i/rotaryDim) (base 10000 in the paper), rotating
     * the first {@code rotaryDim} dimensions of each head (0: all) at positions divided by
     * {@code interpolationFactor} (1: none).
     */
    public RotaryPositionalEncoding(double base, int rotaryDim, double interpolationFactor) {
        this.base = base;
        this.rotaryDim = rotaryDim;
        this.interpolationFactor = interpolationFactor;
        postConfig();
    }

    @Override
    public void postConfig() {
        PositionalEncoding.super.postConfig();
        rotation = new Rotation(NAME, base, rotaryDim, interpolationFactor, null);
    }

    /**
     * {query [batch, heads, queryLength, headDim], key [batch, keyHeads, keyLength, headDim]}
     * rotated for positions from {@code queryOffset} and {@code keyOffset}.
     */
    @Override
    public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
        return rotation.rotateQueryKey(query, key, queryOffset, keyOffset);
    }

    public double base() {
        return base;
    }

    /** The configured rotary dimension, 0 for the whole head. */
    public int rotaryDim() {
        return rotaryDim;
    }

    public double interpolationFactor() {
        return interpolationFactor;
    }

    @Override
    public String toString() {
        return "RotaryPositionalEncoding(base=" + base + ", rotaryDim=" + rotaryDim + ", interpolationFactor="
                + interpolationFactor + ")";
    }
}
