package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Dynamic position bias (Wang et al., 2022, "CrossFormer: A Versatile Vision Transformer Hinging
 * on Cross-scale Attention", its DPB module; here the one-dimensional form of lucidrains'
 * x-transformers {@code DynamicPositionBias}): a small MLP maps the relative position d = key -
 * query to one bias per head,
 * <pre>
 *   bias[h, i, j] = MLP(f(j - i))[h]
 *   MLP = Linear(1, hidden) → SiLU → (Linear(hidden, hidden) → SiLU) × (depth - 1) → Linear(hidden, heads)
 * </pre>
 * with f(d) = d, or f(d) = sign(d)·ln(1 + |d|) with {@code logDistance}. Being a function of the
 * distance rather than a table, it gives a bias for distances never seen in training, so it works
 * at any length. (x-transformers feeds query - key; the sign convention only mirrors the function
 * the MLP learns.)
 *
 * <p>The MLP runs once per distinct relative position of the window (queryLength + keyLength - 1
 * of them, not queryLength × keyLength), and its outputs are gathered into [1, heads,
 * queryLength, keyLength], so gradients reach its parameters. {@link #initialize} creates the
 * layers, registered as the submodules {@code mlp0} … {@code mlp<depth>} ({@link Linear} with
 * biases, Glorot-uniform weights).
 */
@ComponentInfo(name = "dynamic-bias",
        summary = "A small MLP of the key-query distance giving each head's attention bias, at any length",
        reference = "Wang et al., 2022, CrossFormer: A Versatile Vision Transformer Hinging on Cross-scale Attention")
@PositionalCapabilities(attentionBias = true, learnable = true, extrapolates = true)
public final class DynamicPositionBias extends Module implements PositionalEncoding {

    private static final String NAME = "dynamic-bias";

    @Config(description = "Width of the MLP's hidden layers.")
    @Range(min = 1)
    private int hidden = 32;

    @Config(description = "Number of hidden layers (Linear then SiLU) before the output layer.")
    @Range(min = 1)
    private int depth = 2;

    @Config(description = "Feed sign(d)·ln(1 + |d|) to the MLP instead of the relative position d.")
    private boolean logDistance = false;

    private int heads;
    /** The hidden layers, then the output layer; null before {@link #initialize}. */
    private Linear[] layers;

    /** For OLCUT. */
    private DynamicPositionBias() {
    }

    /** An MLP of {@code depth} hidden layers of width {@code hidden}, over d or sign(d)·ln(1 + |d|). */
    public DynamicPositionBias(int hidden, int depth, boolean logDistance) {
        this.hidden = hidden;
        this.depth = depth;
        this.logDistance = logDistance;
        postConfig();
    }

    /** Creates and registers the layers, the last with {@code heads} outputs; once only. */
    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        if (layers != null) {
            throw new IllegalStateException(NAME + ": already initialized with " + this.heads + " heads");
        }
        int h = RelativeBias.heads(NAME, heads);
        Linear[] mlp = new Linear[depth + 1];
        for (int l = 0; l < depth; l++) {
            mlp[l] = registerModule("mlp" + l, new Linear(l == 0 ? 1 : hidden, hidden, true, rng));
        }
        mlp[depth] = registerModule("mlp" + depth, new Linear(hidden, h, true, rng));
        this.layers = mlp;
        this.heads = h;
    }

    /** MLP(f(j - (queryOffset + t)))[h] as [1, heads, queryLength, keyLength]. */
    @Override
    public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
        RelativeBias.check(NAME, this.heads, heads, queryLength, keyLength, queryOffset);
        int first = RelativeBias.firstRelative(queryLength, queryOffset);
        float[] inputs = new float[queryLength + keyLength - 1];
        for (int r = 0; r < inputs.length; r++) {
            inputs[r] = (float) input(first + r);
        }
        Tensor values = mlp(Tensor.of(layers[0].weight().backend(), inputs, inputs.length, 1));
        return RelativeBias.gather(values, RelativeBias.relativeIndex(queryLength, keyLength), queryLength, keyLength);
    }

    /** f(d): d, or sign(d)·ln(1 + |d|) with logDistance. */
    private double input(long relativePosition) {
        return logDistance ? Math.signum(relativePosition) * Math.log1p(Math.abs(relativePosition)) : relativePosition;
    }

    /** The MLP on inputs [n, 1]: [n, heads]. */
    private Tensor mlp(Tensor x) {
        for (int l = 0; l < depth; l++) {
            x = layers[l].forward(x).silu();
        }
        return layers[depth].forward(x);
    }

    public int hidden() {
        return hidden;
    }

    public int depth() {
        return depth;
    }

    /** Whether the MLP sees sign(d)·ln(1 + |d|) rather than d. */
    public boolean logDistance() {
        return logDistance;
    }

    @Override
    public String toString() {
        return "DynamicPositionBias(hidden=" + hidden + ", depth=" + depth + ", logDistance=" + logDistance
                + ", heads=" + heads + ")";
    }
}
