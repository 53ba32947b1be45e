package org.xformers4j.nn;

import org.xformers4j.tensor.Tensor;

/**
 * ScaleNorm (Nguyen and Salazar, 2019, "Transformers without Tears: Improving the Normalization
 * of Self-Attention"): y = g · x / max(‖x‖₂, eps) over the last dimension, with a single learned
 * scalar g initialised to sqrt(dim) and taking no weight decay.
 *
 * <p>Computed as g · x · rsqrt(max(Σx², eps²)), which equals the definition and keeps the
 * gradient finite at x = 0.
 */
public final class ScaleNorm extends Module {

    private final int dim;
    private final float eps;
    private final Tensor g;

    /** A ScaleNorm with eps 1e-5, the paper's value. */
    public ScaleNorm(int dim) {
        this(dim, 1e-5f);
    }

    /**
     * @param dim size of the normalised last dimension
     * @param eps the smallest norm divided by
     */
    public ScaleNorm(int dim, float eps) {
        this.dim = Args.positive("ScaleNorm", "dim", dim);
        this.eps = Args.positive("ScaleNorm", "eps", eps);
        this.g = registerParameter("g", Tensor.scalar((float) Math.sqrt(dim)), false);
    }

    /** Normalises [..., dim] over the last dimension. */
    public Tensor forward(Tensor x) {
        Args.lastDim("ScaleNorm", x, dim);
        Tensor squaredNorm = x.mul(x).sum(-1, true);                                   // [..., 1]
        Tensor floor = Tensor.of(x.backend(), new float[] {eps * eps});                // []
        return x.mul(squaredNorm.maximum(floor).rsqrt()).mul(g);
    }

    /** The learned scale g, a 0-d tensor. */
    public Tensor scale() {
        return g;
    }
}
