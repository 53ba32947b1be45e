package org.xformers4j.nn;

import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * A fully connected layer y = x Wᵀ + b over the last dimension, as {@code torch.nn.Linear}: the
 * weight W is stored [outFeatures, inFeatures] and multiplied transposed without a copy.
 *
 * <p>The weight is initialised Glorot-uniform (Glorot and Bengio, 2010), as in the original
 * Transformer implementations; the bias starts at zero and takes no weight decay.
 */
public final class Linear extends Module {

    private final int inFeatures;
    private final int outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    /**
     * @param inFeatures  size of the input's last dimension
     * @param outFeatures size of the output's last dimension
     * @param bias        whether to add a learned bias
     * @param rng         seeded generator for the weight
     */
    public Linear(int inFeatures, int outFeatures, boolean bias, RandomGenerator rng) {
        this.inFeatures = Args.positive("Linear", "inFeatures", inFeatures);
        this.outFeatures = Args.positive("Linear", "outFeatures", outFeatures);
        this.weight = registerParameter("weight", Init.xavierUniform(rng, 1f, outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Init.zeros(outFeatures), false) : null;
    }

    /** [..., inFeatures] to [..., outFeatures]. */
    public Tensor forward(Tensor x) {
        Args.lastDim("Linear", x, inFeatures);
        return bias == null ? x.matmul(weight, false, true) : Functional.linear(x, weight, bias);
    }

    /** The weight, [outFeatures, inFeatures]. */
    public Tensor weight() {
        return weight;
    }

    /** The bias, [outFeatures], or null when the layer has none. */
    public Tensor bias() {
        return bias;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }
}
