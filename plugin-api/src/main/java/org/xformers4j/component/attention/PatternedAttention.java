package org.xformers4j.component.attention;

/**
 * An attention mechanism that is softmax attention restricted to a pattern of (query, key) pairs:
 * the block-sparse layouts of Child et al., 2019 ("Generating Long Sequences with Sparse
 * Transformers"), BigBird (Zaheer et al., 2020, "Big Bird: Transformers for Longer Sequences"), the
 * shifted windows of Swin (Liu et al., 2021, "Swin Transformer: Hierarchical Vision Transformer
 * using Shifted Windows"), local windows.
 *
 * <p><b>The contract.</b> For every input the mechanism accepts, its output equals dense softmax
 * attention with its scale (1/sqrt(headDim) unless configured otherwise) over the scores
 * <pre>
 *   s[b,h,i,j] = scale · q[b,h,i,:]·k[b,h,j,:] + contextBias[b,h,i,j] + pattern.bias(h,i,j)
 * </pre>
 * where a key j is visible to query i only if {@link AttentionPattern#allows pattern.allows(h, i,
 * j)} and the context allows it too (key padding, causal order, a bias of -∞); a query that sees no
 * key outputs zeros. The conformance suite checks this against a float64 reference given the
 * pattern, and a visualisation may draw the pattern.
 */
public interface PatternedAttention extends AttentionMechanism {

    /**
     * The pattern this mechanism applies to {@code queryLength} queries over {@code keyLength} keys
     * in {@code context} (its grid, its causal flag); the same for every batch element. Calls with
     * the same arguments return equal patterns (random blocks are drawn once per layer, from its
     * seed).
     *
     * @param heads the number of query heads
     * @throws IllegalArgumentException where {@link #forward} would refuse these lengths or context
     */
    AttentionPattern pattern(int heads, int queryLength, int keyLength, AttentionContext context);
}
