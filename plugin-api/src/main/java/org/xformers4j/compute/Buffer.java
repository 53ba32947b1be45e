package org.xformers4j.compute;

/**
 * A block of float32 memory owned by one {@link ComputeBackend}: a Java array for the CPU,
 * device memory for CUDA. Tensors hold their data in a buffer starting at offset 0.
 */
public interface Buffer extends AutoCloseable {

    /** Number of float elements. */
    int length();

    /** The backend that allocated this buffer and whose kernels read it. */
    ComputeBackend backend();

    /** Releases the memory now; using the buffer afterwards is an error. Idempotent. */
    @Override
    void close();
}
