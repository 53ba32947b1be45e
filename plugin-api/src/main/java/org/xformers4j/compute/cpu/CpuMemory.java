package org.xformers4j.compute.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import org.xformers4j.compute.MemoryStats;

/**
 * Counts the bytes of live CPU buffers; a buffer is released on close or when collected.
 *
 * <p>Only buffers of at least {@value #TRACKED_FLOATS} floats are followed to their release (a
 * {@link Cleaner} registration each): smaller ones, the activations of a decoding step, count in
 * {@link #allocatedBytesSinceReset()} but not in {@link #currentBytes()} or the peak. Registering a
 * cleaner costs more than the work a decoding step does on a buffer of a hundred floats (it took
 * 40 % of the time of greedy generation), and such buffers never decide the peak of a problem
 * large enough to measure.
 */
final class CpuMemory implements MemoryStats {

    /** Buffers of at least this many floats (4 KiB) are counted as held until released. */
    static final int TRACKED_FLOATS = 1024;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final Runnable UNTRACKED = () -> { };

    private final AtomicLong current = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final AtomicLong allocatedSinceReset = new AtomicLong();

    /**
     * Counts {@code length} floats as allocated and, from {@value #TRACKED_FLOATS} floats on, as held
     * until the returned action runs or {@code owner} is collected.
     */
    Runnable track(Object owner, int length) {
        long bytes = 4L * length;
        allocatedSinceReset.addAndGet(bytes);
        if (length < TRACKED_FLOATS) {
            return UNTRACKED;
        }
        long now = current.addAndGet(bytes);
        peak.accumulateAndGet(now, Math::max);
        AtomicLong held = current;
        // The action must not refer to the owner, or the cleaner would never run.
        Cleaner.Cleanable cleanable = CLEANER.register(owner, () -> held.addAndGet(-bytes));
        return cleanable::clean;
    }

    @Override
    public long currentBytes() {
        return current.get();
    }

    @Override
    public long peakBytes() {
        return peak.get();
    }

    @Override
    public void resetPeak() {
        peak.set(current.get());
        allocatedSinceReset.set(0);
    }

    @Override
    public long allocatedBytesSinceReset() {
        return allocatedSinceReset.get();
    }
}
