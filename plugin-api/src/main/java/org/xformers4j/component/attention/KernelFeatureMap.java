package org.xformers4j.component.attention;

/**
 * Implemented by a kernel attention mechanism (Katharopoulos et al., 2020, "Transformers are RNNs:
 * Fast Autoregressive Transformers with Linear Attention", §3.2), one that replaces the softmax
 * similarity by a feature-map kernel {@code sim(q, k) = φ(q)·φ(k)}:
 * <pre>
 *   out_i = Σ_j φ(q_i)·φ(k_j) v_j / Σ_j φ(q_i)·φ(k_j)
 * </pre>
 * over the keys j query i may see (not padded; with a causal context, at most its end-aligned
 * position). Declaring the map lets the conformance suite check the mechanism against this
 * definition, computed in double precision on the explicit N×N kernel matrix, instead of against
 * softmax attention. A mechanism may add a small constant to the denominator (for a query whose
 * keys are all masked, the sum is 0 and the output is 0); the suite's tolerances allow an
 * {@code eps} of the order of 1e-6. A map may also depend on the vector's position
 * ({@link #features(int, int, double[])}), as long as the kernel of a query and a key is the dot
 * product of their features.
 */
public interface KernelFeatureMap {

    /**
     * φ of one query or key vector of head {@code head}, in double precision, as the mechanism
     * (once {@link AttentionMechanism#initialize initialised}) applies it.
     *
     * @param head the head the vector belongs to (a map may differ per head; most ignore it)
     * @param x    a vector of headDim elements; not modified
     * @return the features, all of the same length for every input of a head
     */
    double[] features(int head, double[] x);

    /**
     * φ of one query or key vector of head {@code head} at sequence position {@code position}, for
     * a map that depends on where the vector sits (cosFormer's re-weighting, Qin et al., 2022). The
     * position is the key position: key j sits at j, and query i of {@code queryLength} over
     * {@code keyLength} keys at {@code keyLength - queryLength + i} (queries end-aligned, as in
     * {@link AttentionContext}; negative when there are more queries than keys). The default
     * ignores the position and returns {@link #features(int, double[])}; a map that depends on it
     * overrides this method (and may refuse the positionless one).
     *
     * @param head     the head the vector belongs to
     * @param position the vector's key position as above
     * @param x        a vector of headDim elements; not modified
     * @return the features, all of the same length for every input of a head
     */
    default double[] features(int head, int position, double[] x) {
        return features(head, x);
    }
}
