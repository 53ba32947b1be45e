package org.xformers4j.attention.kernel;

import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.Tensor;

/**
 * Host access to tensor elements for the kernels of this package written as host loops: on the CPU
 * backend the tensor's own array (no copy, which matters when one tensor is gigabytes), on any other
 * backend a copy downloaded to the host and results uploaded back.
 */
final class HostArrays {

    private HostArrays() {
    }

    /** The elements of {@code t}, row-major, to read only: its own array on the CPU backend, else a copy. */
    static float[] read(Tensor t) {
        return t.buffer().hostArray().orElseGet(t::toFloatArray);
    }

    /**
     * A new tensor of zeros to be written through {@link #data()} and then handed out with
     * {@link #tensor()}: on the CPU backend the host array is the tensor's own, elsewhere a host
     * array that {@link #tensor()} uploads.
     */
    static final class Output {

        private final ComputeBackend backend;
        private final int[] shape;
        private final Tensor tensor;
        private final float[] data;

        Output(ComputeBackend backend, int... shape) {
            this.backend = backend;
            this.shape = shape.clone();
            Tensor zeros = Tensor.zeros(backend, shape);
            float[] host = zeros.buffer().hostArray().orElse(null);
            this.tensor = host != null ? zeros : null;
            this.data = host != null ? host : new float[zeros.numel()];
        }

        /** The elements to write, row-major. */
        float[] data() {
            return data;
        }

        /** The tensor holding what was written. */
        Tensor tensor() {
            return tensor != null ? tensor : Tensor.of(backend, data, shape);
        }
    }
}
