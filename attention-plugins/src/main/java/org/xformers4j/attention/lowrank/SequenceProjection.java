package org.xformers4j.attention.lowrank;

import org.xformers4j.tensor.Tensor;

/**
 * One of Linformer's projections along the sequence axis (E for the keys, F for the values): L
 * positions in, a shorter run of projected positions ("slots") out, each head's channels kept.
 */
interface SequenceProjection {

    /**
     * The projection of {@code x} [B, H, L, F], whose masked positions the caller has zeroed, to
     * [B, H, slots, F]; L is at most the length the projection was built for.
     */
    Tensor project(Tensor x);

    /**
     * 1 where a slot draws from none of the real positions, else 0: {@code real} [B, L] is 1 at a
     * real position and 0 at a masked one, the result [B, 1 or H, 1, slots] (H for a projection per
     * head). Computed without recording a graph.
     */
    Tensor unreached(Tensor real);

    /** {@code x} with zeros appended along {@code dim} up to {@code length} positions ({@code x} itself when it has them). */
    static Tensor zeroPadded(Tensor x, int dim, int length) {
        if (x.size(dim) == length) {
            return x;
        }
        int[] shape = x.shape();
        shape[dim] = length - shape[dim];
        return Tensor.concat(dim, x, Tensor.zeros(x.backend(), shape));
    }
}
