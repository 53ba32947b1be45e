package org.xformers4j.compute;

import java.util.Optional;

/**
 * A block of float32 memory owned by one {@link ComputeBackend}: a Java array for the CPU,
 * device memory for CUDA. Tensors hold their data in a buffer starting at offset 0.
 */
public interface Buffer extends AutoCloseable {

    /** Number of float elements. */
    int length();

    /** The backend that allocated this buffer and whose kernels read it. */
    ComputeBackend backend();

    /**
     * The host array that holds this buffer's elements, when the backend keeps them in host memory
     * (the CPU backend), for code written as host loops to read and write in place without a copy;
     * empty for device memory, whose elements are reached with {@link ComputeBackend#download} and
     * {@link ComputeBackend#upload}. Throws when the buffer was closed.
     */
    Optional<float[]> hostArray();

    /** Releases the memory now; using the buffer afterwards is an error. Idempotent. */
    @Override
    void close();
}
