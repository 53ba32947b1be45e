package org.xformers4j.models.nn;

import org.xformers4j.compute.Backends;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * Peak live tensor memory of a computation, from the backend's counter. On the CPU a buffer is
 * released when the garbage collector reclaims it, so without collections the counter's peak is
 * the sum of everything allocated; {@link #collectPoint} marks places, in the forward and the
 * backward pass, where garbage is collected, so that the peak measures what is still reachable.
 */
final class MemoryProbe {

    private static final MemoryStats MEMORY = Backends.defaultBackend().memory();

    /** Consecutive collections that must release nothing before the heap counts as collected. */
    private static final int QUIET_ROUNDS = 3;

    private MemoryProbe() {
    }

    /** The identity, collecting garbage when its forward and its backward run. */
    static Tensor collectPoint(Tensor x) {
        return new CustomFunction() {
            @Override
            protected Tensor forward(Tensor... inputs) {
                collectGarbage();
                return inputs[0];
            }

            @Override
            protected Tensor[] backward(Tensor gradOutput) {
                collectGarbage();
                return new Tensor[] {gradOutput};
            }
        }.apply(x);
    }

    /** Bytes above the starting level at the peak of {@code computation}, garbage collected first. */
    static long peakBytes(Runnable computation) {
        collectGarbage();
        MEMORY.resetPeak();
        long before = MEMORY.currentBytes();
        computation.run();
        return MEMORY.peakBytes() - before;
    }

    /**
     * Runs the collector until {@value #QUIET_ROUNDS} collections in a row release no more tensor
     * memory: the cleaner thread releases buffers some time after a collection, so one quiet round
     * can stop early, leaving earlier garbage to be released while a peak is measured.
     */
    static void collectGarbage() {
        int quiet = 0;
        while (quiet < QUIET_ROUNDS) {
            long previous = MEMORY.currentBytes();
            System.gc();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            quiet = MEMORY.currentBytes() < previous ? 0 : quiet + 1;
        }
    }
}
