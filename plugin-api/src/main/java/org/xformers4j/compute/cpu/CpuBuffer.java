package org.xformers4j.compute.cpu;

import java.util.Optional;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;

/** A CPU buffer: a Java float array, released by {@link #close()} or by the garbage collector. */
public final class CpuBuffer implements Buffer {

    private final CpuBackend backend;
    private final int length;
    private final Runnable release;
    private float[] array;

    CpuBuffer(CpuBackend backend, float[] array, CpuMemory memory) {
        this.backend = backend;
        this.array = array;
        this.length = array.length;
        this.release = memory.track(this, length);
    }

    /** The backing array; throws if the buffer was closed. */
    public float[] array() {
        float[] a = array;
        if (a == null) {
            throw new IllegalStateException("buffer of " + length + " floats was used after close()");
        }
        return a;
    }

    @Override
    public Optional<float[]> hostArray() {
        return Optional.of(array());
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public ComputeBackend backend() {
        return backend;
    }

    @Override
    public void close() {
        if (array != null) {
            array = null;
            release.run();
        }
    }
}
