package org.xformers4j.compute;

/**
 * Bytes of tensor memory a backend holds now and the peak since the last {@link #resetPeak()}.
 * Memory is counted when allocated and released when a buffer is closed or, on the CPU, when the
 * garbage collector reclaims it. A backend may leave buffers too small to matter (on the CPU, under
 * 4 KiB) out of the held bytes and the peak; every buffer counts in
 * {@link #allocatedBytesSinceReset()}.
 */
public interface MemoryStats {

    /** Bytes held by live buffers now. */
    long currentBytes();

    /** Highest {@link #currentBytes()} seen since the last reset. */
    long peakBytes();

    /** Starts a new peak measurement from the current level. */
    void resetPeak();

    /** Bytes allocated since the last reset, whether or not they were released since. */
    long allocatedBytesSinceReset();
}
