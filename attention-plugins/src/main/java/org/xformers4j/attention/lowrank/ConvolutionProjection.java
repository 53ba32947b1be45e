package org.xformers4j.attention.lowrank;

import java.util.Arrays;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Linformer's projection by a 1-D convolution along the sequence with kernel size and stride s
 * (Wang et al., 2020, "Linformer: Self-Attention with Linear Complexity", the convolutional
 * projection among its general projections), over the F channels of a head and mixing them, as
 * linformer-pytorch's {@code nn.Conv1d(head_dim, head_dim, kernel_size=s, stride=s)} does, without
 * a bias:
 * <pre>
 *   slot_j[c] = Σ_{t &lt; s} Σ_{c'} W[t·F + c', c] · x[j·s + t, c']      j = 0 … ⌈L/s⌉ - 1
 * </pre>
 * with x zero-padded to ⌈L/s⌉·s positions. W is [s·F, F] (one for every head) or [H, s·F, F]
 * (one per head); a window is s consecutive positions, read as one row of s·F values and
 * multiplied by W.
 */
final class ConvolutionProjection implements SequenceProjection {

    private final Tensor weight;
    private final int stride;
    private final int channels;

    /**
     * @param weight   W, [s·F, F] or [H, s·F, F]
     * @param stride   kernel size and stride s
     * @param channels F, the head size the convolution was built for
     */
    ConvolutionProjection(Tensor weight, int stride, int channels) {
        this.weight = weight;
        this.stride = stride;
        this.channels = channels;
    }

    /** x [B, H, L, F] → [B, H, ⌈L/s⌉, F]. */
    @Override
    public Tensor project(Tensor x) {
        if (x.size(3) != channels) {
            throw new IllegalArgumentException("linformer: the convolutional projection was built for head size "
                    + channels + " but got " + Arrays.toString(x.shape()) + " (keys and values must both have the "
                    + "head size the mechanism was initialised with)");
        }
        int batch = x.size(0);
        int heads = x.size(1);
        int slots = slots(x.size(2));
        return SequenceProjection.zeroPadded(x, 2, slots * stride).reshape(batch, heads, slots, stride * channels).matmul(weight);
    }

    /** A slot is unreached when its window holds no real position. */
    @Override
    public Tensor unreached(Tensor real) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            int batch = real.size(0);
            int slots = slots(real.size(1));
            Tensor count = SequenceProjection.zeroPadded(real, 1, slots * stride).reshape(batch, slots, stride).sum(2, false);
            return count.eq(count.zerosLike()).reshape(batch, 1, 1, slots);
        }
    }

    private int slots(int length) {
        return (length + stride - 1) / stride;
    }
}
