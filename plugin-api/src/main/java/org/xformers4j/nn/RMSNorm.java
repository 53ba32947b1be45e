package org.xformers4j.nn;

import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Root-mean-square normalisation over the last dimension (Zhang and Sennrich, 2019, "Root Mean
 * Square Layer Normalization"): y = x / sqrt(mean(x²) + eps) · γ, with γ starting at one and
 * taking no weight decay.
 */
public final class RMSNorm extends Module {

    private final int dim;
    private final float eps;
    private final Tensor gamma;

    /** An RMS norm with eps 1e-6. */
    public RMSNorm(int dim) {
        this(dim, 1e-6f);
    }

    /**
     * @param dim size of the normalised last dimension
     * @param eps added to the mean square
     */
    public RMSNorm(int dim, float eps) {
        this.dim = Args.positive("RMSNorm", "dim", dim);
        this.eps = Args.positive("RMSNorm", "eps", eps);
        this.gamma = registerParameter("weight", Init.ones(dim), false);
    }

    /** Normalises [..., dim] over the last dimension. */
    public Tensor forward(Tensor x) {
        Args.lastDim("RMSNorm", x, dim);
        return Functional.rmsNorm(x, gamma, eps);
    }
}
