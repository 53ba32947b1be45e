package org.xformers4j.component.attention;

/**
 * Implemented by an attention mechanism that can say how much arithmetic one call does, by its own
 * formula, so that a benchmark reports its throughput in GFLOP/s ({@code xformers4j bench
 * attention}) instead of applying the dense formula to a mechanism that does other work. A
 * mechanism that does not implement it has its time and memory reported, and no FLOP rate.
 *
 * <p>The convention is FlashAttention-2's (Dao, 2023, "FlashAttention-2: Faster Attention with
 * Better Parallelism and Work Partitioning", §4.1): 2 FLOPs per multiply-add of the products the
 * mechanism computes (matrix products, and the sums of elementwise products that stand in for them,
 * such as Hydra's Σ φ(k) ⊙ v); maps of single elements (exponentials, feature maps, normalising
 * divisions, masks) are not counted. The count is of the work the mechanism's algorithm does, for
 * the hyperparameters of the instance: scores a blocked mechanism computes and then masks count,
 * and tiles a fused kernel skips do not. Each implementation states its formula in its javadoc.
 */
public interface FlopCount {

    /**
     * The sizes of one call: queries [batch, heads, queryLength, headDim], keys [batch, heads,
     * keyLength, headDim], values [batch, heads, keyLength, valueDim], and whether the context is
     * causal.
     */
    record Shape(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim, boolean causal) {

        /** @throws IllegalArgumentException for a size below 1 */
        public Shape {
            if (batch < 1 || heads < 1 || queryLength < 1 || keyLength < 1 || headDim < 1 || valueDim < 1) {
                throw new IllegalArgumentException("every size must be at least 1, got batch " + batch + ", heads "
                        + heads + ", queryLength " + queryLength + ", keyLength " + keyLength + ", headDim " + headDim
                        + ", valueDim " + valueDim);
            }
        }

        /** Self-attention of {@code length} positions with head and value size {@code dim}. */
        public static Shape self(int batch, int heads, int length, int dim, boolean causal) {
            return new Shape(batch, heads, length, length, dim, dim, causal);
        }

        /** {@code batch · heads}, as a double so that products with lengths do not overflow. */
        public double batchHeads() {
            return (double) batch * heads;
        }
    }

    /** FLOPs of the forward pass of one call of this shape. */
    double forwardFlops(Shape shape);

    /**
     * FLOPs of the backward pass of one call of this shape (the gradients of queries, keys and
     * values). By default twice the forward: the backward of a product C = A·B is the two products
     * dA = dC·Bᵀ and dB = Aᵀ·dC of the same size. A mechanism whose backward recomputes part of the
     * forward (a fused kernel) or skips part of it (a product with a constant) overrides this.
     */
    default double backwardFlops(Shape shape) {
        return 2 * forwardFlops(shape);
    }
}
