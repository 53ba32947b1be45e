package org.xformers4j.attention.kernel;

import org.xformers4j.component.attention.FlopCount;

/**
 * The FLOPs ({@link FlopCount}) of the kernel-attention product on feature-mapped queries and keys
 * of F features, shared by the kernel attentions that compute it ({@link LinearAttention#nonCausal}
 * or {@link CausalLinearProduct}). Per batch element and head, the state S = Σ φk vᵀ and
 * normaliser z = Σ φk take F·(Dv + 1) multiply-adds per key, and out = φq S / (φq·z) the same per
 * query, causal (running sums) or not:
 * <pre>
 *   forward   2·B·H·(Lq + Lk)·F·(Dv + 1)
 *   backward  non-causal: twice the forward (autograd of the two products)
 *             causal: twice the forward + 2·B·H·Lk·F·Dv ({@link CausalLinearProduct}'s backward scans
 *             the keys forward again, the forward's work, then in reverse, accumulating the query
 *             gradients into R and r and reading dfk and dv from them)
 * </pre>
 */
final class KernelFlops {

    private KernelFlops() {
    }

    /** Forward FLOPs of the product for F = {@code features}. */
    static double forward(FlopCount.Shape shape, int features) {
        return 2 * shape.batchHeads() * ((double) shape.queryLength() + shape.keyLength()) * features
                * (shape.valueDim() + 1);
    }

    /** Backward FLOPs of the product for F = {@code features}. */
    static double backward(FlopCount.Shape shape, int features) {
        double twice = 2 * forward(shape, features);
        return shape.causal()
                ? twice + 2 * shape.batchHeads() * shape.keyLength() * features * shape.valueDim() : twice;
    }
}
