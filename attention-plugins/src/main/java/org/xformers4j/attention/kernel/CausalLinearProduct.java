package org.xformers4j.attention.kernel;

/**
 * The causal {@link KernelProduct} on features computed before it ({@code fq [B, H, Lq, F]},
 * {@code fk [B, H, Lk, F]}, {@code v [B, H, Lk, Dv]}, φ the identity), for the kernel attentions whose
 * feature map is not a row-wise {@link FeatureMap}: the caller zeroes the features of padded keys,
 * and the features, which it holds anyway, are read in place. Running sums in double precision,
 * O(F·Dv) state per head, no [Lk, F, Dv] or [Lq, Lk] tensor.
 */
final class CausalLinearProduct extends KernelProduct {

    /** @param eps added to every denominator */
    CausalLinearProduct(double eps) {
        super(ElementwiseFeatureMap.IDENTITY, true, eps, null, null);
    }

    @Override
    protected String name() {
        return "causalLinearProduct";
    }
}
