package org.xformers4j.positional;

import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Shared by the encodings that turn relative positions into an additive attention bias (hook 3):
 * the argument checks, with messages naming the encoding and the values, the relative positions
 * of a window, and the gather of per-head values into the bias [1, heads, queryLength, keyLength].
 *
 * <p>Query t sits at position {@code queryOffset + t} and key j at position j; the relative
 * position of the pair is {@code j - (queryOffset + t)}, key minus query. A window of queryLength
 * queries and keyLength keys holds the queryLength + keyLength - 1 consecutive relative positions
 * from {@link #firstRelative} on.
 */
final class RelativeBias {

    private RelativeBias() {
    }

    /** A positive head count given to {@code initialize}. */
    static int heads(String encoding, int heads) {
        if (heads <= 0) {
            throw new IllegalArgumentException(encoding + ": heads must be positive, got " + heads);
        }
        return heads;
    }

    /**
     * Checks a call of {@code attentionBias}: {@code initializedHeads} is the head count given to
     * {@code initialize} (0 when it has not been called) and must equal {@code heads}; the lengths
     * are positive and the offset is not negative.
     */
    static void check(String encoding, int initializedHeads, int heads, int queryLength, int keyLength,
                      int queryOffset) {
        if (initializedHeads == 0) {
            throw new IllegalStateException(encoding + ": initialize(modelDim, heads, rng) must be called before use");
        }
        if (heads != initializedHeads) {
            throw new IllegalArgumentException(encoding + ": asked for a bias for " + heads
                    + " heads but was initialized with " + initializedHeads + " heads");
        }
        if (queryLength <= 0 || keyLength <= 0) {
            throw new IllegalArgumentException(encoding + ": queryLength and keyLength must be positive, got "
                    + queryLength + " and " + keyLength);
        }
        if (queryOffset < 0) {
            throw new IllegalArgumentException(encoding + ": queryOffset must be >= 0, got " + queryOffset);
        }
    }

    /** The smallest relative position of the window, the first key seen from the last query. */
    static int firstRelative(int queryLength, int queryOffset) {
        return -(queryOffset + queryLength - 1);
    }

    /**
     * For each pair, row-major [queryLength, keyLength], its relative position minus
     * {@link #firstRelative}: {@code j - t + queryLength - 1}, in 0 … queryLength + keyLength - 2.
     */
    static int[] relativeIndex(int queryLength, int keyLength) {
        int[] index = new int[queryLength * keyLength];
        for (int t = 0; t < queryLength; t++) {
            for (int j = 0; j < keyLength; j++) {
                index[t * keyLength + j] = j - t + queryLength - 1;
            }
        }
        return index;
    }

    /**
     * The bias [1, heads, queryLength, keyLength] with {@code bias[0, h, t, j] = values[index[t ·
     * keyLength + j], h]} for {@code values} [n, heads]; a gather, so gradients flow back to the
     * rows of {@code values} in use (summed where several pairs share a row).
     */
    static Tensor gather(Tensor values, int[] index, int queryLength, int keyLength) {
        // [Lq, Lk, H] → [H, Lq, Lk] → [1, H, Lq, Lk]
        return Functional.embedding(values, index, queryLength, keyLength).permute(2, 0, 1).unsqueeze(0);
    }
}
