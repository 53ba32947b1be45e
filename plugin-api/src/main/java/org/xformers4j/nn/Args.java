package org.xformers4j.nn;

import java.util.Arrays;
import org.xformers4j.tensor.Tensor;

/** Argument checks shared by the layers; messages name the layer, the argument and its value. */
final class Args {

    private Args() {
    }

    static int positive(String layer, String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(layer + ": " + name + " must be positive, got " + value);
        }
        return value;
    }

    static float positive(String layer, String name, float value) {
        if (!(value > 0) || Float.isInfinite(value)) {
            throw new IllegalArgumentException(layer + ": " + name + " must be finite and positive, got " + value);
        }
        return value;
    }

    /** Checks that the last dimension of {@code x} is {@code size}. */
    static void lastDim(String layer, Tensor x, int size) {
        if (x.dim() == 0 || x.size(-1) != size) {
            throw new IllegalArgumentException(layer + ": expected an input whose last dimension is " + size
                    + ", got shape " + Arrays.toString(x.shape()));
        }
    }
}
