package org.xformers4j.attention.kernel;

import java.util.SplittableRandom;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.Tensor;

/**
 * What one forward and backward of a kernel attention allocates on the backend, counted by its
 * allocation counter (every byte, whether or not it was freed since), in units of one [B, H, N, D]
 * float tensor. The inputs and the output gradient exist before the count starts; what is counted
 * includes the output, the three input gradients the op returns and the three copies the autograd
 * accumulates them into (7 tensors), besides the mechanism's own intermediates.
 */
final class KernelMemory {

    /** The batch, heads and head size of {@link #tensorsAllocated}. */
    static final int B = 1;
    static final int H = 2;
    static final int D = 64;

    private KernelMemory() {
    }

    /** Bytes allocated by forward and backward of {@code attention} at length {@code n}, over B·H·n·D·4. */
    static double tensorsAllocated(AttentionMechanism attention, int n, boolean causal) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor q = Tensor.randn(rng, B, H, n, D).requiresGrad(true);
        Tensor k = Tensor.randn(rng, B, H, n, D).requiresGrad(true);
        Tensor v = Tensor.randn(rng, B, H, n, D).requiresGrad(true);
        Tensor gradOutput = Tensor.randn(rng, B, H, n, D);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        attention.forward(q, k, v, AttentionContext.builder().causal(causal).build()).backward(gradOutput);
        return memory.allocatedBytesSinceReset() / ((double) B * H * n * D * Float.BYTES);
    }
}
