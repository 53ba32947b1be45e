package org.xformers4j.tensor;

import java.util.Arrays;

/**
 * Index-select, gather, scatter-add and embedding lookup, forward and backward.
 *
 * <p>Each op views its operand as {@code [outer, n, inner]} around the indexed dimension and calls
 * one backend kernel; the backward of a selection adds the gradient back at the same indices
 * (index-add, scatter-add) and the backward of scatter-add gathers. Indices are checked here,
 * before any kernel runs, so every backend reports the same errors.
 */
final class IndexOps {

    private IndexOps() {
    }

    /** out = x with dimension {@code dim} replaced by the slices at {@code index}, like {@code torch.index_select}. */
    static Tensor indexSelect(Tensor x, int dim, int[] index) {
        int[] shape = x.shape();
        int d = Shape.dim("indexSelect", dim, shape.length);
        checkRange("indexSelect", "index", index, shape[d], "dim " + dim + " of shape " + Shape.str(shape));
        int[] outShape = shape.clone();
        outShape[d] = index.length;
        return select("indexSelect", x, d, index.clone(), outShape);
    }

    /**
     * Rows of {@code weight} [vocab, dim] for {@code ids} laid out in {@code idsShape}: the result
     * has shape idsShape + [dim]; its backward adds each row's gradient into a zero [vocab, dim], so
     * repeated ids sum.
     */
    static Tensor embedding(Tensor weight, int[] ids, int[] idsShape) {
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("embedding: weight must be [vocab, dim], got shape "
                    + Shape.str(weight.shape()));
        }
        if (Shape.numel(idsShape) != ids.length) {
            throw new IllegalArgumentException("embedding: " + ids.length + " ids do not fill ids shape "
                    + Shape.str(idsShape) + " (" + Shape.numel(idsShape) + " elements)");
        }
        checkRange("embedding", "token id", ids, weight.size(0), "weight of shape " + Shape.str(weight.shape()));
        int[] outShape = Arrays.copyOf(idsShape, idsShape.length + 1);
        outShape[idsShape.length] = weight.size(1);
        return select("embedding", weight, 0, ids.clone(), outShape);
    }

    /** out[..., i, ...] = x[..., index[..., i, ...], ...] along {@code dim}, like {@code torch.gather}. */
    static Tensor gather(Tensor x, int dim, Tensor index) {
        int[] shape = x.shape();
        int d = Shape.dim("gather", dim, shape.length);
        int[] idx = wholeIndices("gather", shape, d, index);
        int[] indexShape = index.shape();
        Tensor out = gather(x, d, idx, indexShape);
        return Tensor.record(out, "gather", g -> new Tensor[] {
            scatterInto(Tensor.zeros(g.backend(), shape), d, idx, indexShape, g)
        }, x);
    }

    /**
     * A copy of x with src[..., t, ...] added at x[..., index[..., t, ...], ...] along {@code dim},
     * like {@code torch.scatter_add}; src has the index's shape. Gradients: identity to x, gather
     * of the output gradient to src.
     */
    static Tensor scatterAdd(Tensor x, int dim, Tensor index, Tensor src) {
        int[] shape = x.shape();
        int d = Shape.dim("scatterAdd", dim, shape.length);
        int[] idx = wholeIndices("scatterAdd", shape, d, index);
        int[] indexShape = index.shape();
        if (!Arrays.equals(src.shape(), indexShape)) {
            throw new IllegalArgumentException("scatterAdd: src shape " + Shape.str(src.shape())
                    + " must equal index shape " + Shape.str(indexShape));
        }
        int[] strides = Shape.strides(shape);
        Tensor out = Tensor.zeros(x.backend(), shape);
        x.backend().copyStrided(shape, x.buffer(), 0, strides, out.buffer(), 0, strides);
        scatterInto(out, d, idx, indexShape, src);
        return Tensor.record(out, "scatterAdd", g -> new Tensor[] {
            x.requiresGrad() ? g : null,
            src.requiresGrad() ? gather(g, d, idx, indexShape) : null
        }, x, src);
    }

    /** Index-select along d with the index-add backward; records {@code op}. */
    private static Tensor select(String op, Tensor x, int d, int[] index, int[] outShape) {
        int[] shape = x.shape();
        int outer = Shape.outer(shape, d);
        int n = shape[d];
        int inner = Shape.inner(shape, d);
        Tensor out = Tensor.zeros(x.backend(), outShape);
        x.backend().indexSelect(x.buffer(), outer, n, inner, index, out.buffer());
        return Tensor.record(out, op, g -> {
            Tensor dx = Tensor.zeros(g.backend(), shape);
            g.backend().indexAdd(dx.buffer(), outer, n, inner, index, g.buffer());
            return new Tensor[] {dx};
        }, x);
    }

    /** The gather kernel on x along d for a checked index of {@code indexShape}; records nothing. */
    private static Tensor gather(Tensor x, int d, int[] index, int[] indexShape) {
        int[] shape = x.shape();
        Tensor out = Tensor.zeros(x.backend(), indexShape);
        x.backend().gather(x.buffer(), Shape.outer(shape, d), shape[d], Shape.inner(shape, d), index, indexShape[d],
                out.buffer());
        return out;
    }

    /** Adds src into dst along d at a checked index of {@code indexShape}, in place; returns dst. */
    private static Tensor scatterInto(Tensor dst, int d, int[] index, int[] indexShape, Tensor src) {
        int[] shape = dst.shape();
        dst.backend().scatterAdd(dst.buffer(), Shape.outer(shape, d), shape[d], Shape.inner(shape, d), index,
                indexShape[d], src.buffer());
        return dst;
    }

    private static void checkRange(String op, String what, int[] index, int size, String context) {
        for (int t = 0; t < index.length; t++) {
            if (index[t] < 0 || index[t] >= size) {
                throw new IllegalArgumentException(op + ": " + what + " " + index[t] + " at position " + t
                        + " is out of range [0, " + size + ") for " + context);
            }
        }
    }

    /**
     * The values of a gather/scatter index tensor as ints: it must have x's rank and sizes except
     * along d, and hold whole numbers in [0, shape[d]).
     */
    private static int[] wholeIndices(String op, int[] shape, int d, Tensor index) {
        int[] indexShape = index.shape();
        boolean compatible = indexShape.length == shape.length;
        for (int e = 0; compatible && e < shape.length; e++) {
            compatible = e == d || indexShape[e] == shape[e];
        }
        if (!compatible) {
            throw new IllegalArgumentException(op + ": index shape " + Shape.str(indexShape) + " must equal x shape "
                    + Shape.str(shape) + " in every dim but " + d);
        }
        float[] values = index.toFloatArray();
        int[] out = new int[values.length];
        for (int e = 0; e < values.length; e++) {
            float v = values[e];
            if (v != Math.rint(v) || v < 0 || v >= shape[d]) {
                throw new IllegalArgumentException(op + ": index value " + v + " at position "
                        + Shape.str(position(e, indexShape)) + " is not a whole number in [0, " + shape[d]
                        + ") for dim " + d + " of shape " + Shape.str(shape));
            }
            out[e] = (int) v;
        }
        return out;
    }

    /** The index vector of the flat row-major position {@code flat} in {@code shape}. */
    private static int[] position(int flat, int[] shape) {
        int[] index = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }
}
