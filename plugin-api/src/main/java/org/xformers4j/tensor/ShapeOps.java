package org.xformers4j.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Reshape, permute, slicing and joining, all built on the backend's strided copy. */
final class ShapeOps {

    private ShapeOps() {
    }

    static Tensor reshape(Tensor x, int[] newShape) {
        int[] shape = newShape.clone();
        int inferred = -1;
        long known = 1;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == -1) {
                if (inferred >= 0) {
                    throw new IllegalArgumentException("reshape: only one size may be -1 in " + Shape.str(newShape));
                }
                inferred = d;
            } else if (shape[d] < 0) {
                throw new IllegalArgumentException("reshape: negative size in " + Shape.str(newShape));
            } else {
                known *= shape[d];
            }
        }
        if (inferred >= 0) {
            if (known == 0 || x.numel() % known != 0) {
                throw new IllegalArgumentException("reshape: cannot infer -1 in " + Shape.str(newShape) + " for "
                        + x.numel() + " elements of shape " + Shape.str(x.shape()));
            }
            shape[inferred] = (int) (x.numel() / known);
        }
        if (Shape.numel(shape) != x.numel()) {
            throw new IllegalArgumentException("reshape: shape " + Shape.str(x.shape()) + " (" + x.numel()
                    + " elements) cannot become " + Shape.str(newShape));
        }
        int[] inShape = x.shape();
        Tensor out = new Tensor(x.buffer(), shape);
        return Tensor.record(out, "reshape", g -> new Tensor[] {new Tensor(g.buffer(), inShape)}, x);
    }

    static Tensor unsqueeze(Tensor x, int dim) {
        int[] shape = x.shape();
        int d = Shape.dim("unsqueeze", dim, shape.length + 1);
        int[] out = new int[shape.length + 1];
        System.arraycopy(shape, 0, out, 0, d);
        out[d] = 1;
        System.arraycopy(shape, d, out, d + 1, shape.length - d);
        return reshape(x, out);
    }

    static Tensor squeeze(Tensor x, int dim) {
        int[] shape = x.shape();
        int d = Shape.dim("squeeze", dim, shape.length);
        if (shape[d] != 1) {
            throw new IllegalArgumentException("squeeze: dim " + dim + " of shape " + Shape.str(shape)
                    + " has size " + shape[d] + ", not 1");
        }
        int[] out = new int[shape.length - 1];
        System.arraycopy(shape, 0, out, 0, d);
        System.arraycopy(shape, d + 1, out, d, shape.length - d - 1);
        return reshape(x, out);
    }

    static Tensor transpose(Tensor x, int dim0, int dim1) {
        int rank = x.dim();
        int a = Shape.dim("transpose", dim0, rank);
        int b = Shape.dim("transpose", dim1, rank);
        int[] perm = new int[rank];
        for (int d = 0; d < rank; d++) {
            perm[d] = d;
        }
        perm[a] = b;
        perm[b] = a;
        return permute(x, perm);
    }

    static Tensor permute(Tensor x, int[] dims) {
        int[] shape = x.shape();
        int rank = shape.length;
        if (dims.length != rank) {
            throw new IllegalArgumentException("permute: " + Shape.str(dims) + " for a tensor of rank " + rank);
        }
        int[] perm = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = Shape.dim("permute", dims[i], rank);
            if (seen[perm[i]]) {
                throw new IllegalArgumentException("permute: dims " + Shape.str(dims) + " repeat dimension " + perm[i]);
            }
            seen[perm[i]] = true;
        }
        int[] inStrides = Shape.strides(shape);
        int[] outShape = new int[rank];
        int[] srcStrides = new int[rank];
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) {
            outShape[i] = shape[perm[i]];
            srcStrides[i] = inStrides[perm[i]];
            inverse[perm[i]] = i;
        }
        Tensor out = Tensor.zeros(x.backend(), outShape);
        x.backend().copyStrided(outShape, x.buffer(), 0, srcStrides, out.buffer(), 0, Shape.strides(outShape));
        return Tensor.record(out, "permute", g -> new Tensor[] {permute(g, inverse)}, x);
    }

    static Tensor slice(Tensor x, int dim, int start, int end) {
        int d = Shape.dim("slice", dim, x.dim());
        int size = x.shape()[d];
        int s = start < 0 ? start + size : start;
        int e = end < 0 ? end + size : end;
        if (s < 0 || e > size || s > e) {
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") is out of range for dim " + dim
                    + " of shape " + Shape.str(x.shape()));
        }
        return narrow(x, d, s, e - s);
    }

    static Tensor narrow(Tensor x, int dim, int start, int length) {
        int[] shape = x.shape();
        int d = Shape.dim("narrow", dim, shape.length);
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new IllegalArgumentException("narrow: start " + start + " length " + length + " is out of range for dim "
                    + dim + " of shape " + Shape.str(shape));
        }
        int[] outShape = shape.clone();
        outShape[d] = length;
        int[] strides = Shape.strides(shape);
        int offset = start * strides[d];
        Tensor out = Tensor.zeros(x.backend(), outShape);
        x.backend().copyStrided(outShape, x.buffer(), offset, strides, out.buffer(), 0, Shape.strides(outShape));
        return Tensor.record(out, "narrow", g -> {
            Tensor dx = Tensor.zeros(g.backend(), shape);
            g.backend().copyStrided(outShape, g.buffer(), 0, Shape.strides(outShape), dx.buffer(), offset, strides);
            return new Tensor[] {dx};
        }, x);
    }

    static List<Tensor> split(Tensor x, int splitSize, int dim) {
        int d = Shape.dim("split", dim, x.dim());
        if (splitSize <= 0) {
            throw new IllegalArgumentException("split: splitSize must be positive, got " + splitSize);
        }
        int size = x.shape()[d];
        List<Tensor> parts = new ArrayList<>();
        for (int start = 0; start < size; start += splitSize) {
            parts.add(narrow(x, d, start, Math.min(splitSize, size - start)));
        }
        return parts;
    }

    static Tensor concat(int dim, Tensor... tensors) {
        if (tensors.length == 0) {
            throw new IllegalArgumentException("concat: needs at least one tensor");
        }
        int[] first = tensors[0].shape();
        int d = Shape.dim("concat", dim, first.length);
        int total = 0;
        for (int i = 0; i < tensors.length; i++) {
            int[] s = tensors[i].shape();
            boolean compatible = s.length == first.length;
            for (int j = 0; compatible && j < s.length; j++) {
                compatible = j == d || s[j] == first[j];
            }
            if (!compatible) {
                throw new IllegalArgumentException("concat: tensor " + i + " has shape " + Shape.str(s)
                        + ", incompatible with " + Shape.str(first) + " along dim " + dim);
            }
            if (tensors[i].backend() != tensors[0].backend()) {
                throw new IllegalArgumentException("concat: tensor " + i + " is on backend " + tensors[i].backend().name()
                        + ", tensor 0 on " + tensors[0].backend().name());
            }
            total += s[d];
        }
        int[] outShape = first.clone();
        outShape[d] = total;
        int[] outStrides = Shape.strides(outShape);
        Tensor out = Tensor.zeros(tensors[0].backend(), outShape);
        int[] starts = new int[tensors.length];
        int position = 0;
        for (int i = 0; i < tensors.length; i++) {
            int[] s = tensors[i].shape();
            starts[i] = position;
            out.backend().copyStrided(s, tensors[i].buffer(), 0, Shape.strides(s), out.buffer(),
                    position * outStrides[d], outStrides);
            position += s[d];
        }
        return Tensor.record(out, "concat", g -> {
            Tensor[] grads = new Tensor[tensors.length];
            for (int i = 0; i < tensors.length; i++) {
                grads[i] = narrow(g, d, starts[i], tensors[i].shape()[d]);
            }
            return grads;
        }, tensors);
    }

    static Tensor stack(int dim, Tensor... tensors) {
        if (tensors.length == 0) {
            throw new IllegalArgumentException("stack: needs at least one tensor");
        }
        int[] first = tensors[0].shape();
        int d = Shape.dim("stack", dim, first.length + 1);
        Tensor[] expanded = new Tensor[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            if (!Arrays.equals(tensors[i].shape(), first)) {
                throw new IllegalArgumentException("stack: tensor " + i + " has shape " + Shape.str(tensors[i].shape())
                        + ", tensor 0 has " + Shape.str(first));
            }
            expanded[i] = unsqueeze(tensors[i], d);
        }
        return concat(d, expanded);
    }

    static Tensor expand(Tensor x, int[] newShape) {
        int[] shape = x.shape();
        int[] target = Shape.broadcast("expand", shape, newShape);
        if (!Arrays.equals(target, newShape)) {
            throw new IllegalArgumentException("expand: shape " + Shape.str(shape) + " cannot be expanded to "
                    + Shape.str(newShape));
        }
        Tensor out = Tensor.zeros(x.backend(), newShape);
        x.backend().copyStrided(newShape, x.buffer(), 0, Shape.broadcastStrides(shape, newShape), out.buffer(), 0,
                Shape.strides(newShape));
        return Tensor.record(out, "expand", g -> new Tensor[] {Broadcast.sumTo(g, shape)}, x);
    }
}
