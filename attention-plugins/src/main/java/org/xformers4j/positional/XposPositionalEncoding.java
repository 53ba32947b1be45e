package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.Tensor;

/**
 * xPos (Sun et al., 2023, "A Length-Extrapolatable Transformer"): the rotary rotation of {@link
 * RotaryPositionalEncoding} with an exponential decay. Pair i of the rotated dimensions has
 * <pre>
 *   ζ_i = (2i / rotaryDim + γ) / (1 + γ),   i = 0 … rotaryDim/2 − 1,   γ = 0.4 in the paper,
 * </pre>
 * and a query at position n is multiplied by ζ_i^(n/scaleBase) while a key at position m is
 * multiplied by ζ_i^(−m/scaleBase), so pair i contributes to the score with the factor
 * ζ_i^((n − m)/scaleBase): like the rotation, a function of the offset only. As ζ_i &lt; 1, a
 * query attends less to distant keys, most strongly in the low-frequency pairs, which stabilises
 * attention beyond the training length. Pairing ("rotate half"), partial rotation and the angles
 * are those of rotary (see {@link Rotation}); the decay applies to the rotated dimensions only,
 * as in the torchscale and rotary-embedding-torch implementations.
 *
 * <p>xPos is meant for causal attention, where n ≥ m: a key after its query (m &gt; n) would be
 * amplified by ζ^((n − m)/scaleBase) &gt; 1 instead of attenuated.
 *
 * <p>Positions are absolute, not centred. torchscale and rotary-embedding-torch subtract half the
 * sequence length from n and m to keep both factors near 1; the shift cancels in the score, but
 * it depends on the length of the call, whereas keys here are scaled once and then cached for
 * incremental decoding, so queries and keys must agree on one origin. The cost is float range:
 * ζ_0^(n/scaleBase) falls below the smallest normal float at n ≈ 87.3·scaleBase / ln(1/ζ_0) (about
 * 35,700 with the defaults), and positions beyond that are rejected with a message; a larger
 * scaleBase extends the range.
 *
 * <p>Nothing is learned; the factors are computed in double on the host with the rotation tables
 * and applied by the same tensor ops, differentiable in the queries and keys.
 */
@ComponentInfo(name = "xpos",
        summary = "Rotary rotation of queries and keys with an exponential decay in the query-key offset (causal)",
        reference = "Sun et al., 2023, A Length-Extrapolatable Transformer")
@PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = true)
public final class XposPositionalEncoding implements PositionalEncoding {

    private static final String NAME = "xpos";

    @Config(description = "Base of the geometric progression of rotation frequencies, θ_i = base^(-2i/rotaryDim).")
    @Range(min = 1, minInclusive = false, maxInclusive = false)
    private double base = 10000;

    @Config(description = "Number of leading dimensions of each head to rotate and scale (even, at most the head "
            + "dimension); 0 rotates the whole head.")
    @Range(min = 0)
    private int rotaryDim = 0;

    @Config(description = "γ of the per-pair decay ζ_i = (2i/rotaryDim + γ)/(1 + γ).")
    @Range(min = 0, minInclusive = false, maxInclusive = false)
    private double gamma = 0.4;

    @Config(description = "Positions are divided by this before they become exponents of the decay ζ_i.")
    @Range(min = 0, minInclusive = false, maxInclusive = false)
    private double scaleBase = 512;

    private Rotation rotation;

    /** For OLCUT. */
    private XposPositionalEncoding() {
    }

    /**
     * An xPos encoding with frequencies base^(−2i/rotaryDim) over the first {@code rotaryDim}
     * dimensions of each head (0: all) and decay ζ_i^(position/scaleBase) with the given γ (the
     * paper: base 10000, γ 0.4, scaleBase 512).
     */
    public XposPositionalEncoding(double base, int rotaryDim, double gamma, double scaleBase) {
        this.base = base;
        this.rotaryDim = rotaryDim;
        this.gamma = gamma;
        this.scaleBase = scaleBase;
        postConfig();
    }

    @Override
    public void postConfig() {
        PositionalEncoding.super.postConfig();
        rotation = new Rotation(NAME, base, rotaryDim, 1, this::decay);
    }

    /** ζ_i^(position/scaleBase), the query factor of pair i; rejected once it leaves the normal floats. */
    private double decay(int pair, int dim, double position) {
        double zeta = (2.0 * pair / dim + gamma) / (1 + gamma);
        double factor = Math.pow(zeta, position / scaleBase);
        if (factor < Float.MIN_NORMAL) {
            double limit = scaleBase * Math.log(Float.MIN_NORMAL) / Math.log(gamma / (1 + gamma));
            throw new IllegalArgumentException(NAME + ": position " + (long) position + " needs the decay ζ_" + pair
                    + "^(" + (long) position + "/scaleBase) = " + factor + ", below the float range; with gamma "
                    + gamma + " and scaleBase " + scaleBase + " positions up to " + (long) limit
                    + " are supported (a larger scaleBase extends this)");
        }
        return factor;
    }

    /**
     * {query [batch, heads, queryLength, headDim], key [batch, keyHeads, keyLength, headDim]}
     * rotated and scaled for positions from {@code queryOffset} and {@code keyOffset}.
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

    public double gamma() {
        return gamma;
    }

    public double scaleBase() {
        return scaleBase;
    }

    @Override
    public String toString() {
        return "XposPositionalEncoding(base=" + base + ", rotaryDim=" + rotaryDim + ", gamma=" + gamma
                + ", scaleBase=" + scaleBase + ")";
    }
}
