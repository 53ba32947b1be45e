package org.xformers4j.nn;

import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Layer normalisation over the last dimension (Ba et al., 2016, "Layer Normalization"):
 * y = (x - mean) / sqrt(var + eps) · γ + β, with γ starting at one and β at zero, neither
 * taking weight decay.
 */
public final class LayerNorm extends Module {

    private final int dim;
    private final float eps;
    private final Tensor gamma;
    private final Tensor beta;

    /** A layer norm with learned γ and β and eps 1e-5, PyTorch's defaults. */
    public LayerNorm(int dim) {
        this(dim, 1e-5f, true);
    }

    /**
     * @param dim         size of the normalised last dimension
     * @param eps         added to the variance
     * @param elementwiseAffine whether to learn γ and β
     */
    public LayerNorm(int dim, float eps, boolean elementwiseAffine) {
        this.dim = Args.positive("LayerNorm", "dim", dim);
        this.eps = Args.positive("LayerNorm", "eps", eps);
        this.gamma = elementwiseAffine ? registerParameter("weight", Init.ones(dim), false) : null;
        this.beta = elementwiseAffine ? registerParameter("bias", Init.zeros(dim), false) : null;
    }

    /** Normalises [..., dim] over the last dimension. */
    public Tensor forward(Tensor x) {
        Args.lastDim("LayerNorm", x, dim);
        return Functional.layerNorm(x, gamma, beta, eps);
    }
}
