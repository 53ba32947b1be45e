package org.xformers4j.nn;

import java.util.Arrays;

/**
 * A host copy of one parameter in a {@link Module#stateDict() state dict}: its shape and its
 * values, row-major. Both arrays are copied on the way in and on the way out.
 *
 * @param shape  the parameter's shape
 * @param values the parameter's elements, row-major; as many as the shape holds
 */
public record ParameterState(int[] shape, float[] values) {

    /** Checks that the values fill the shape and copies both arrays. */
    public ParameterState {
        long n = 1;
        for (int size : shape) {
            if (size < 0) {
                throw new IllegalArgumentException("ParameterState: negative size in shape " + Arrays.toString(shape));
            }
            n *= size;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("ParameterState: shape " + Arrays.toString(shape) + " holds " + n
                    + " values, got " + values.length);
        }
        shape = shape.clone();
        values = values.clone();
    }

    /** A copy of the shape. */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** A copy of the values. */
    @Override
    public float[] values() {
        return values.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParameterState other && Arrays.equals(shape, other.shape)
                && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "ParameterState" + Arrays.toString(shape);
    }
}
