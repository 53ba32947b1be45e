package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

/** A test component with one hyperparameter of each kind the descriptor derives: ranged, enum, mandatory-free text. */
@ComponentInfo(name = "scaled-identity", summary = "Returns the values times a factor.", reference = "None, 2026, test fixture")
@AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = false, additiveBias = false,
        incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(1)")
public final class ScaledIdentityAttention implements AttentionMechanism {

    /** Ways to round the factor. */
    public enum Rounding { NONE, FLOOR }

    @Config(description = "Factor the values are multiplied by.")
    @Range(min = 0, max = 10, minInclusive = false)
    private float factor = 1f;

    @Config(description = "How to round the factor.")
    private Rounding rounding = Rounding.NONE;

    @Config(description = "Number of heads it expects; 0 accepts any.")
    @Range(min = 0)
    private int heads;

    private ScaledIdentityAttention() {
    }

    @Override
    public void postConfig() {
        AttentionMechanism.super.postConfig();
        if (rounding == Rounding.FLOOR && factor < 1) {
            throw new PropertyException("scaled-identity", "factor", "factor " + factor + " floors to 0");
        }
    }

    float factor() {
        return factor;
    }

    Rounding rounding() {
        return rounding;
    }

    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        return value.mul(rounding == Rounding.FLOOR ? (float) Math.floor(factor) : factor);
    }

    /** Its provider. */
    public static final class Provider extends ConfigurableComponentProvider<ScaledIdentityAttention> {
        public Provider() {
            super(ScaledIdentityAttention.class);
        }
    }
}
