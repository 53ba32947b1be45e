package org.xformers4j.tensor;

import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.ReduceOp;

/**
 * Reductions, softmax and cumulative sums, forward and backward. Each works along one dimension of
 * the input viewed as [outer, n, inner] (n the reduced dimension), as the backend kernels do.
 */
final class ReductionOps {

    private ReductionOps() {
    }

    /** The input's shape and its [outer, n, inner] view around one dimension. */
    private static final class View {
        final int[] shape;
        final int dim;
        final int outer;
        final int n;
        final int inner;

        View(String op, Tensor x, int dim) {
            this.shape = x.shape();
            this.dim = Shape.dim(op, dim, shape.length);
            this.outer = Shape.outer(shape, this.dim);
            this.n = shape[this.dim];
            this.inner = Shape.inner(shape, this.dim);
        }

        /** The whole tensor as one row: [1, numel, 1]; the reduced shape is 0-d. */
        View(Tensor x) {
            this.shape = x.shape();
            this.dim = -1;
            this.outer = 1;
            this.n = x.numel();
            this.inner = 1;
        }

        /** The shape with the reduced dimension kept as 1 ({@code keepDim}) or removed; 0-d for a whole-tensor view. */
        int[] reduced(boolean keepDim) {
            if (dim < 0) {
                return new int[0];
            }
            if (keepDim) {
                int[] out = shape.clone();
                out[dim] = 1;
                return out;
            }
            int[] out = new int[shape.length - 1];
            System.arraycopy(shape, 0, out, 0, dim);
            System.arraycopy(shape, dim + 1, out, dim, shape.length - dim - 1);
            return out;
        }

        /** A reduced tensor (either form) broadcast back over the reduced dimension: reshaped to keepDim form. */
        Tensor kept(Tensor reduced) {
            return dim < 0 ? reduced : reduced.reshape(reduced(true));
        }

        void requireNonEmpty(String op) {
            if (n == 0) {
                throw new IllegalArgumentException(op + ": cannot reduce an empty dimension of shape " + Shape.str(shape));
            }
        }
    }

    private static Tensor reduce(ReduceOp op, Tensor x, View v, boolean keepDim, Tensor indices) {
        Tensor out = Tensor.zeros(x.backend(), v.reduced(keepDim));
        x.backend().reduce(op, x.buffer(), v.outer, v.n, v.inner, out.buffer(), indices == null ? null : indices.buffer());
        return out;
    }

    // ---- sum and mean: dx = dy broadcast back over the reduced dimension ----

    private static Tensor sum(Tensor x, View v, boolean keepDim) {
        Tensor out = reduce(ReduceOp.SUM, x, v, keepDim, null);
        return Tensor.record(out, "sum", g -> new Tensor[] {v.kept(g).expand(v.shape)}, x);
    }

    static Tensor sumAll(Tensor x) {
        return sum(x, new View(x), false);
    }

    static Tensor sum(Tensor x, int dim, boolean keepDim) {
        return sum(x, new View("sum", x, dim), keepDim);
    }

    static Tensor meanAll(Tensor x) {
        return sumAll(x).mul(1f / x.numel());
    }

    static Tensor mean(Tensor x, int dim, boolean keepDim) {
        View v = new View("mean", x, dim);
        return sum(x, v, keepDim).mul(1f / v.n);
    }

    // ---- max and min: the gradient goes to the first extreme of each slice ----

    private static Tensor extreme(String name, ReduceOp op, Tensor x, View v, boolean keepDim) {
        v.requireNonEmpty(name);
        ComputeBackend backend = x.backend();
        int[] reducedShape = v.reduced(keepDim);
        Tensor indices = Tensor.zeros(backend, reducedShape);
        Tensor out = reduce(op, x, v, keepDim, indices);
        return Tensor.record(out, name, g -> {
            float[] positions = indices.toFloatArray();
            int[] index = new int[positions.length];
            for (int i = 0; i < index.length; i++) {
                index[i] = (int) positions[i];
            }
            Tensor dx = Tensor.zeros(backend, v.shape);
            backend.scatterAdd(dx.buffer(), v.outer, v.n, v.inner, index, 1, g.buffer());
            return new Tensor[] {dx};
        }, x);
    }

    static Tensor maxAll(Tensor x) {
        return extreme("max", ReduceOp.MAX, x, new View(x), false);
    }

    static Tensor max(Tensor x, int dim, boolean keepDim) {
        return extreme("max", ReduceOp.MAX, x, new View("max", x, dim), keepDim);
    }

    static Tensor min(Tensor x, int dim, boolean keepDim) {
        return extreme("min", ReduceOp.MIN, x, new View("min", x, dim), keepDim);
    }

    static Tensor argmax(Tensor x, int dim, boolean keepDim) {
        View v = new View("argmax", x, dim);
        v.requireNonEmpty("argmax");
        Tensor indices = Tensor.zeros(x.backend(), v.reduced(keepDim));
        reduce(ReduceOp.MAX, x, v, keepDim, indices);
        return indices;
    }

    // ---- logsumexp: dx = dy · e^(x - out) = dy · softmax(x); 0 along a line of -∞ (out = -∞) ----

    static Tensor logsumexp(Tensor x, int dim, boolean keepDim) {
        View v = new View("logsumexp", x, dim);
        Tensor out = reduce(ReduceOp.LOGSUMEXP, x, v, keepDim, null);
        return Tensor.record(out, "logsumexp", g -> new Tensor[] {x.softmax(dim).mul(v.kept(g))}, x);
    }

    // ---- softmax and log-softmax along a dimension; the backward uses the output only ----

    static Tensor softmax(Tensor x, int dim, boolean log) {
        String name = log ? "logSoftmax" : "softmax";
        View v = new View(name, x, dim);
        ComputeBackend backend = x.backend();
        Tensor y = Tensor.zeros(backend, v.shape);
        backend.softmax(x.buffer(), v.outer, v.n, v.inner, y.buffer(), log);
        return Tensor.record(y, name, g -> {
            Tensor dx = Tensor.zeros(backend, v.shape);
            backend.softmaxBackward(y.buffer(), g.buffer(), v.outer, v.n, v.inner, dx.buffer(), log);
            return new Tensor[] {dx};
        }, x);
    }

    // ---- cumsum: the gradient is the reverse cumulative sum of dy ----

    static Tensor cumsum(Tensor x, int dim) {
        View v = new View("cumsum", x, dim);
        ComputeBackend backend = x.backend();
        Tensor y = Tensor.zeros(backend, v.shape);
        backend.cumsum(x.buffer(), v.outer, v.n, v.inner, y.buffer(), false);
        return Tensor.record(y, "cumsum", g -> {
            Tensor dx = Tensor.zeros(backend, v.shape);
            backend.cumsum(g.buffer(), v.outer, v.n, v.inner, dx.buffer(), true);
            return new Tensor[] {dx};
        }, x);
    }
}
