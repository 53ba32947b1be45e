package org.xformers4j.compute.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import org.xformers4j.compute.MemoryStats;

/** Counts the bytes of live CPU buffers; a buffer is released on close or when collected. */
final class CpuMemory implements MemoryStats {

    private static final Cleaner CLEANER = Cleaner.create();

    private final AtomicLong current = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final AtomicLong allocatedSinceReset = new AtomicLong();

    /** Counts {@code length} floats as held until the returned action runs or {@code owner} is collected. */
    Runnable track(Object owner, int length) {
        long bytes = 4L * length;
        long now = current.addAndGet(bytes);
        allocatedSinceReset.addAndGet(bytes);
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
