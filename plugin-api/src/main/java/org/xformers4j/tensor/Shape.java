package org.xformers4j.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by the ops: sizes, strides, dimension wrapping, broadcasting. */
final class Shape {

    private Shape() {
    }

    static int numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative size");
            }
            n *= s;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n
                    + " elements, more than a tensor can hold (" + Integer.MAX_VALUE + ")");
        }
        return (int) n;
    }

    /** Row-major strides of a contiguous tensor. */
    static int[] strides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            strides[d] = s;
            s *= shape[d];
        }
        return strides;
    }

    /** Wraps a possibly negative dimension into [0, rank), naming the op in the error. */
    static int dim(String op, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException(op + ": dim " + dim + " is out of range for a tensor of rank " + rank);
        }
        return d;
    }

    /** Product of sizes before {@code dim}. */
    static int outer(int[] shape, int dim) {
        int n = 1;
        for (int d = 0; d < dim; d++) {
            n *= shape[d];
        }
        return n;
    }

    /** Product of sizes after {@code dim}. */
    static int inner(int[] shape, int dim) {
        int n = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            n *= shape[d];
        }
        return n;
    }

    /** The broadcast of two shapes, NumPy rules; the error names the op and both shapes. */
    static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int sa = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int sb = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (sa != sb && sa != 1 && sb != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and "
                        + Arrays.toString(b) + " cannot be broadcast (dim " + i + ": " + sa + " vs " + sb + ")");
            }
            out[i] = sa == 1 ? sb : sa;
        }
        return out;
    }

    /** Strides that read a contiguous tensor of {@code shape} as if it had {@code target} (0 where broadcast). */
    static int[] broadcastStrides(int[] shape, int[] target) {
        int[] own = strides(shape);
        int[] out = new int[target.length];
        int shift = target.length - shape.length;
        for (int d = shift; d < target.length; d++) {
            out[d] = shape[d - shift] == 1 ? 0 : own[d - shift];
        }
        return out;
    }

    static String str(int[] shape) {
        return Arrays.toString(shape);
    }
}
