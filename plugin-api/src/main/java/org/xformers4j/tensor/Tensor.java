package org.xformers4j.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.UnaryOp;

/**
 * A dense float32 tensor, row-major and contiguous, on one {@link ComputeBackend}, with eager
 * reverse-mode automatic differentiation.
 *
 * <p>An op on tensors of which one {@link #requiresGrad() requires grad} records a node in the
 * graph (unless {@link GradMode#noGrad()} is active); {@link #backward()} walks the graph in
 * reverse topological order and accumulates gradients into the {@link #grad()} of leaf tensors.
 * Tensors are immutable values as far as ops go; only optimisers, {@link #copyFrom} and
 * {@link #zeroGrad()} write in place. Method names follow PyTorch's.
 *
 * <p>Factories come in two forms: with a {@link ComputeBackend} first ({@code Tensor.of(backend,
 * data, 2, 3)}), and without, on {@link Backends#defaultBackend()} (the process-wide default, or
 * the backend of the calling thread's {@link Backends#use} scope). Code that works on given
 * tensors creates its own on their backend ({@code Tensor.zeros(x.backend(), ...)},
 * {@link #zerosLike()}), so it runs wherever its inputs live.
 */
public final class Tensor implements AutoCloseable {

    private final Buffer buffer;
    private final int[] shape;
    private final int numel;
    private boolean requiresGrad;
    private Node node;
    private Tensor grad;

    Tensor(Buffer buffer, int[] shape) {
        this.shape = shape.clone();
        this.numel = Shape.numel(this.shape);
        if (buffer.length() < numel) {
            throw new IllegalArgumentException("buffer of " + buffer.length() + " floats cannot hold shape "
                    + Shape.str(shape));
        }
        this.buffer = buffer;
    }

    // ------------------------------------------------------------------ creation

    /** A new tensor of zeros on {@code backend}. */
    public static Tensor zeros(ComputeBackend backend, int... shape) {
        return new Tensor(backend.allocate(AllocationBudget.elements(shape)), shape);
    }

    /** A new tensor of zeros on the default backend. */
    public static Tensor zeros(int... shape) {
        return zeros(Backends.defaultBackend(), shape);
    }

    /** A new tensor of ones on the default backend. */
    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    /** A new tensor filled with {@code value} on the default backend. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        t.backend().fill(t.buffer, 0, t.numel, value);
        return t;
    }

    /**
     * A tensor of {@code shape} holding a copy of {@code data} in row-major order (the last index
     * varies fastest), on {@code backend}: {@code Tensor.of(backend, new float[] {1, 2, 3, 4, 5, 6}, 2, 3)}
     * is [[1, 2, 3], [4, 5, 6]]. No shape at all makes a 0-dimensional tensor of one value. Later
     * changes to {@code data} do not reach the tensor.
     *
     * @throws IllegalArgumentException if {@code data} does not have exactly as many values as the shape needs
     */
    public static Tensor of(ComputeBackend backend, float[] data, int... shape) {
        int n = Shape.numel(shape);
        if (data.length != n) {
            throw new IllegalArgumentException("data has " + data.length + " values but shape " + Shape.str(shape)
                    + " needs " + n);
        }
        return new Tensor(backend.upload(data), shape);
    }

    /** {@link #of(ComputeBackend, float[], int...)} on the {@link Backends#defaultBackend() default backend}. */
    public static Tensor of(float[] data, int... shape) {
        return of(Backends.defaultBackend(), data, shape);
    }

    /** A 0-dimensional tensor. */
    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    /** 0, 1, …, n-1 as a 1-d tensor. */
    public static Tensor arange(int n) {
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = i;
        }
        return of(data, n);
    }

    /** Standard normal samples drawn from {@code rng} in row-major order. */
    public static Tensor randn(RandomGenerator rng, int... shape) {
        float[] data = new float[AllocationBudget.elements(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rng.nextGaussian();
        }
        return of(data, shape);
    }

    /** Uniform samples in [low, high) drawn from {@code rng} in row-major order. */
    public static Tensor rand(RandomGenerator rng, float low, float high, int... shape) {
        float[] data = new float[AllocationBudget.elements(shape)];
        for (int i = 0; i < data.length; i++) {
            data[i] = low + (high - low) * rng.nextFloat();
        }
        return of(data, shape);
    }

    /** A tensor of zeros with this tensor's shape and backend. */
    public Tensor zerosLike() {
        return zeros(backend(), shape);
    }

    // ------------------------------------------------------------------ accessors

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int dim() {
        return shape.length;
    }

    /** Size of dimension {@code dim}; negative counts from the end. */
    public int size(int dim) {
        return shape[Shape.dim("size", dim, shape.length)];
    }

    /** Number of elements. */
    public int numel() {
        return numel;
    }

    /** The backend holding the data. */
    public ComputeBackend backend() {
        return buffer.backend();
    }

    /** The memory holding the data, from offset 0, for kernels and backends. */
    public Buffer buffer() {
        return buffer;
    }

    /** A host copy of the elements, row-major. */
    public float[] toFloatArray() {
        return backend().download(buffer, numel);
    }

    /** The value of a one-element tensor. */
    public float item() {
        if (numel != 1) {
            throw new IllegalArgumentException("item() needs a tensor with one element, got shape " + Shape.str(shape));
        }
        return toFloatArray()[0];
    }

    /** The element at {@code index} (one index per dimension). Copies to the host: for tests and small reads. */
    public float get(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("get: " + index.length + " indices for shape " + Shape.str(shape));
        }
        int[] strides = Shape.strides(shape);
        int flat = 0;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IllegalArgumentException("get: index " + index[d] + " out of range for dim " + d
                        + " of shape " + Shape.str(shape));
            }
            flat += index[d] * strides[d];
        }
        return backend().download(buffer, flat + 1)[flat];
    }

    // ------------------------------------------------------------------ autograd

    /** Whether gradients flow to or through this tensor. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as a parameter whose gradient {@link #backward()} accumulates; returns this. */
    public Tensor requiresGrad(boolean value) {
        if (node != null) {
            throw new IllegalStateException("requiresGrad can only be set on a leaf tensor; this one was computed by "
                    + node.op + " (use detach())");
        }
        this.requiresGrad = value;
        return this;
    }

    /** Whether this tensor was created by the user rather than recorded from an op. */
    public boolean isLeaf() {
        return node == null;
    }

    /** The name of the op that computed this tensor, or null for a leaf. */
    public String gradFnName() {
        return node == null ? null : node.op;
    }

    /**
     * The accumulated gradient of a leaf, or null when no gradient has reached it (before the
     * first backward pass, after {@link #zeroGrad()}, or when it took no part in the loss); see
     * {@link #gradOrZeros()}.
     */
    public Tensor grad() {
        return grad;
    }

    /**
     * The accumulated gradient of this leaf, or, when no gradient has reached it (where
     * {@link #grad()} is null), a new tensor of zeros of this shape on this backend: the gradient
     * as it reads mathematically, for code that sums, compares or logs gradients without a null
     * check. The zeros are not stored: writing to them does not change the gradient.
     *
     * @throws IllegalStateException for a tensor computed by an op, which never keeps a gradient
     *                               (only leaves do), so that zeros would be a wrong answer
     */
    public Tensor gradOrZeros() {
        if (node != null) {
            throw new IllegalStateException("gradOrZeros: this tensor was computed by " + node.op + " and keeps no "
                    + "gradient; only leaf tensors (parameters, inputs marked requiresGrad) accumulate one");
        }
        return grad != null ? grad : zerosLike();
    }

    /** Forgets the accumulated gradient. */
    public void zeroGrad() {
        grad = null;
    }

    /** A tensor sharing this one's data with no history and no gradient. */
    public Tensor detach() {
        return new Tensor(buffer, shape);
    }

    /** Back-propagates from this one-element tensor (a loss). */
    public void backward() {
        if (numel != 1) {
            throw new IllegalArgumentException("backward() without a gradient needs a one-element tensor, got shape "
                    + Shape.str(shape) + "; pass the output gradient with backward(Tensor)");
        }
        Tensor one = zeros(backend(), shape);
        backend().fill(one.buffer, 0, numel, 1f);
        backward(one);
    }

    /** Back-propagates {@code gradOutput}, which has this tensor's shape. */
    public void backward(Tensor gradOutput) {
        if (!requiresGrad) {
            throw new IllegalStateException("backward: tensor of shape " + Shape.str(shape)
                    + " does not require grad (no input of the computation did)");
        }
        Autograd.backward(this, gradOutput);
    }

    void accumulateGrad(Tensor g) {
        if (grad == null) {
            Tensor copy = zeros(backend(), shape);
            backend().axpy(1f, g.buffer, copy.buffer, numel);
            grad = copy;
        } else {
            backend().axpy(1f, g.buffer, grad.buffer, numel);
        }
    }

    Node node() {
        return node;
    }

    /**
     * Attaches the graph node for {@code op} to {@code out} when recording is on and an input
     * requires grad; returns the tensor to hand to the caller.
     */
    static Tensor record(Tensor out, String op, Node.Backward backward, Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return out;
        }
        boolean any = false;
        for (Tensor t : inputs) {
            any |= t != null && t.requiresGrad;
        }
        if (!any) {
            return out;
        }
        Tensor result = out.node == null && !out.requiresGrad && !Arrays.asList(inputs).contains(out)
                ? out : new Tensor(out.buffer, out.shape);
        result.node = new Node(op, inputs.clone(), backward);
        result.requiresGrad = true;
        return result;
    }

    /**
     * Overwrites this tensor's elements, in place, with {@code data} in row-major order, and
     * returns this tensor (as {@code torch.Tensor.copy_}).
     *
     * <p>Autograd: only a leaf can be written, and a leaf that {@link #requiresGrad() requires grad}
     * (a parameter) only with recording off ({@link GradMode#noGrad()}), as PyTorch requires; its
     * accumulated gradient is kept. A graph recorded before the copy that saved this tensor reads
     * the new values in its backward pass, so copy between training steps, not between a forward
     * pass and its {@link #backward()}. Tensors sharing this one's data ({@link #detach()}) see the
     * new values.
     *
     * @throws IllegalArgumentException if {@code data} does not hold exactly {@link #numel()} values
     * @throws IllegalStateException    if this tensor was computed by an op, or requires grad while recording is on
     */
    public Tensor copyFrom(float[] data) {
        if (data == null || data.length != numel) {
            throw new IllegalArgumentException("copyFrom: " + (data == null ? "null" : data.length + " values")
                    + " for a tensor of shape " + Shape.str(shape) + " (" + numel + " elements)");
        }
        checkWritable();
        try (Buffer source = backend().upload(data)) {
            copyContiguous(source);
        }
        return this;
    }

    /**
     * Overwrites this tensor's elements, in place, with those of {@code source}, which must have
     * this tensor's shape (no broadcasting) and may live on another backend; returns this tensor.
     * Nothing is recorded: no gradient flows from this tensor to {@code source}. The rules for
     * autograd are those of {@link #copyFrom(float[])}.
     *
     * @throws IllegalArgumentException if the shapes differ
     * @throws IllegalStateException    if this tensor was computed by an op, or requires grad while recording is on
     */
    public Tensor copyFrom(Tensor source) {
        if (source == null || !Arrays.equals(source.shape, shape)) {
            throw new IllegalArgumentException("copyFrom: a tensor of shape " + (source == null ? "null"
                    : Shape.str(source.shape)) + " into one of shape " + Shape.str(shape) + "; the shapes must be equal");
        }
        if (source.backend() != backend()) {
            return copyFrom(source.toFloatArray());
        }
        checkWritable();
        if (source.buffer != buffer) {
            copyContiguous(source.buffer);
        }
        return this;
    }

    private void checkWritable() {
        if (node != null) {
            throw new IllegalStateException("copyFrom: this tensor was computed by " + node.op + " and the graph may "
                    + "have saved it for the backward pass; copy into a leaf tensor instead");
        }
        if (requiresGrad && GradMode.isEnabled()) {
            throw new IllegalStateException("copyFrom: this leaf requires grad; write to it only with recording off, "
                    + "inside GradMode.noGrad() (as loading weights does)");
        }
    }

    /** Copies the first {@link #numel} elements of {@code source}, on this backend, into this tensor's buffer. */
    private void copyContiguous(Buffer source) {
        if (numel == 0) {
            return;
        }
        backend().copyStrided(new int[] {numel}, source, 0, new int[] {1}, buffer, 0, new int[] {1});
    }

    /** Releases the data now (device memory is freed at once); the tensor is unusable afterwards. */
    @Override
    public void close() {
        buffer.close();
    }

    // ------------------------------------------------------------------ matrix products

    /**
     * Matrix product with broadcasting over leading dimensions, like {@code torch.matmul}: 1-d
     * operands are treated as a row (left) or column (right) vector.
     */
    public Tensor matmul(Tensor other) {
        return MatmulOps.matmul(this, other, false, false);
    }

    /** {@link #matmul(Tensor)} with either operand's last two dimensions transposed, without copying. */
    public Tensor matmul(Tensor other, boolean transposeThis, boolean transposeOther) {
        return MatmulOps.matmul(this, other, transposeThis, transposeOther);
    }

    // ------------------------------------------------------------------ elementwise

    public Tensor add(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.ADD);
    }

    public Tensor sub(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.SUB);
    }

    public Tensor mul(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.MUL);
    }

    public Tensor div(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.DIV);
    }

    /** Elementwise maximum; the gradient goes to the larger operand (to {@code this} on ties). */
    public Tensor maximum(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.MAXIMUM);
    }

    /** Elementwise minimum; the gradient goes to the smaller operand (to {@code this} on ties). */
    public Tensor minimum(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.MINIMUM);
    }

    /** 1 where equal, else 0; not differentiable. */
    public Tensor eq(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.EQ);
    }

    /** 1 where this &gt; other, else 0; not differentiable. */
    public Tensor gt(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.GT);
    }

    /** 1 where this &lt; other, else 0; not differentiable. */
    public Tensor lt(Tensor other) {
        return ElementwiseOps.binary(this, other, BinaryOp.LT);
    }

    public Tensor add(float value) {
        return ElementwiseOps.unary(this, UnaryOp.ADD_SCALAR, value);
    }

    public Tensor sub(float value) {
        return ElementwiseOps.unary(this, UnaryOp.ADD_SCALAR, -value);
    }

    public Tensor mul(float value) {
        return ElementwiseOps.unary(this, UnaryOp.MUL_SCALAR, value);
    }

    public Tensor div(float value) {
        return ElementwiseOps.unary(this, UnaryOp.MUL_SCALAR, 1f / value);
    }

    /** value - this. */
    public Tensor rsub(float value) {
        return ElementwiseOps.unary(this, UnaryOp.RSUB_SCALAR, value);
    }

    /** value / this. */
    public Tensor rdiv(float value) {
        return ElementwiseOps.unary(this, UnaryOp.RDIV_SCALAR, value);
    }

    public Tensor pow(float exponent) {
        return ElementwiseOps.unary(this, UnaryOp.POW, exponent);
    }

    public Tensor neg() {
        return ElementwiseOps.unary(this, UnaryOp.NEG, 0f);
    }

    public Tensor exp() {
        return ElementwiseOps.unary(this, UnaryOp.EXP, 0f);
    }

    public Tensor log() {
        return ElementwiseOps.unary(this, UnaryOp.LOG, 0f);
    }

    public Tensor sqrt() {
        return ElementwiseOps.unary(this, UnaryOp.SQRT, 0f);
    }

    public Tensor rsqrt() {
        return ElementwiseOps.unary(this, UnaryOp.RSQRT, 0f);
    }

    public Tensor abs() {
        return ElementwiseOps.unary(this, UnaryOp.ABS, 0f);
    }

    public Tensor tanh() {
        return ElementwiseOps.unary(this, UnaryOp.TANH, 0f);
    }

    public Tensor sigmoid() {
        return ElementwiseOps.unary(this, UnaryOp.SIGMOID, 0f);
    }

    public Tensor relu() {
        return ElementwiseOps.unary(this, UnaryOp.RELU, 0f);
    }

    /** The exact GELU, x Φ(x) (Hendrycks and Gimpel, 2016). */
    public Tensor gelu() {
        return gelu(false);
    }

    /** GELU; with {@code tanhApproximation} the tanh form used by GPT-2 and BERT. */
    public Tensor gelu(boolean tanhApproximation) {
        return ElementwiseOps.unary(this, tanhApproximation ? UnaryOp.GELU_TANH : UnaryOp.GELU_ERF, 0f);
    }

    public Tensor silu() {
        return ElementwiseOps.unary(this, UnaryOp.SILU, 0f);
    }

    public Tensor elu(float alpha) {
        return ElementwiseOps.unary(this, UnaryOp.ELU, alpha);
    }

    public Tensor softplus() {
        return ElementwiseOps.unary(this, UnaryOp.SOFTPLUS, 0f);
    }

    /** {@code condition != 0 ? a : b} with broadcasting; gradients flow to a and b, not the condition. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return ElementwiseOps.where(condition, a, b);
    }

    /** This tensor with {@code value} where {@code mask} (broadcast to this shape) is non-zero. */
    public Tensor maskedFill(Tensor mask, float value) {
        return ElementwiseOps.maskedFill(this, mask, value);
    }

    // ------------------------------------------------------------------ reductions

    /** Sum of all elements, as a 0-d tensor. */
    public Tensor sum() {
        return ReductionOps.sumAll(this);
    }

    public Tensor sum(int dim, boolean keepDim) {
        return ReductionOps.sum(this, dim, keepDim);
    }

    /** Mean of all elements, as a 0-d tensor. */
    public Tensor mean() {
        return ReductionOps.meanAll(this);
    }

    public Tensor mean(int dim, boolean keepDim) {
        return ReductionOps.mean(this, dim, keepDim);
    }

    /** Largest element, as a 0-d tensor; the gradient goes to the first largest. */
    public Tensor max() {
        return ReductionOps.maxAll(this);
    }

    /** Largest values along {@code dim}; the gradient goes to the first largest of each slice. */
    public Tensor max(int dim, boolean keepDim) {
        return ReductionOps.max(this, dim, keepDim);
    }

    /** Smallest values along {@code dim}; the gradient goes to the first smallest of each slice. */
    public Tensor min(int dim, boolean keepDim) {
        return ReductionOps.min(this, dim, keepDim);
    }

    /** Position of the first largest value along {@code dim}, as whole numbers in a float tensor. */
    public Tensor argmax(int dim, boolean keepDim) {
        return ReductionOps.argmax(this, dim, keepDim);
    }

    /** ln Σ exp along {@code dim}, computed stably; -∞ (with gradient 0) along a line of -∞. */
    public Tensor logsumexp(int dim, boolean keepDim) {
        return ReductionOps.logsumexp(this, dim, keepDim);
    }

    /**
     * Softmax along {@code dim}: e^(x - max) / Σ e^(x - max). A line whose entries are all -∞ (an
     * attention row with every key masked) gets zeros and passes a zero gradient, rather than NaN.
     */
    public Tensor softmax(int dim) {
        return ReductionOps.softmax(this, dim, false);
    }

    public Tensor logSoftmax(int dim) {
        return ReductionOps.softmax(this, dim, true);
    }

    /** Inclusive cumulative sum along {@code dim}. */
    public Tensor cumsum(int dim) {
        return ReductionOps.cumsum(this, dim);
    }

    // ------------------------------------------------------------------ shape

    /** The same elements in a new shape; one size may be -1 and is inferred. */
    public Tensor reshape(int... newShape) {
        return ShapeOps.reshape(this, newShape);
    }

    /** Swaps two dimensions (copies). */
    public Tensor transpose(int dim0, int dim1) {
        return ShapeOps.transpose(this, dim0, dim1);
    }

    /** Reorders dimensions: dimension i of the result is dimension {@code dims[i]} of this (copies). */
    public Tensor permute(int... dims) {
        return ShapeOps.permute(this, dims);
    }

    /** {@code length} elements along {@code dim} from {@code start} (copies). */
    public Tensor narrow(int dim, int start, int length) {
        return ShapeOps.narrow(this, dim, start, length);
    }

    /** Elements [start, end) along {@code dim}; negative positions count from the end (copies). */
    public Tensor slice(int dim, int start, int end) {
        return ShapeOps.slice(this, dim, start, end);
    }

    /** Joins tensors along an existing dimension. */
    public static Tensor concat(int dim, Tensor... tensors) {
        return ShapeOps.concat(dim, tensors);
    }

    /** Joins tensors of one shape along a new dimension. */
    public static Tensor stack(int dim, Tensor... tensors) {
        return ShapeOps.stack(dim, tensors);
    }

    /** Pieces of {@code splitSize} along {@code dim}; the last may be smaller. */
    public List<Tensor> split(int splitSize, int dim) {
        return ShapeOps.split(this, splitSize, dim);
    }

    /** Inserts a dimension of size 1 at {@code dim}. */
    public Tensor unsqueeze(int dim) {
        return ShapeOps.unsqueeze(this, dim);
    }

    /** Removes dimension {@code dim}, which must have size 1. */
    public Tensor squeeze(int dim) {
        return ShapeOps.squeeze(this, dim);
    }

    /** Repeats size-1 dimensions to reach {@code newShape} (NumPy broadcasting rules; copies). */
    public Tensor expand(int... newShape) {
        return ShapeOps.expand(this, newShape);
    }

    // ------------------------------------------------------------------ indexing

    /** The slices at {@code index} along {@code dim}. */
    public Tensor indexSelect(int dim, int[] index) {
        return IndexOps.indexSelect(this, dim, index);
    }

    /** out[..., i, ...] = this[..., index[..., i, ...], ...] along {@code dim}, like {@code torch.gather}. */
    public Tensor gather(int dim, Tensor index) {
        return IndexOps.gather(this, dim, index);
    }

    /** A copy of this tensor with {@code src} added at {@code index} along {@code dim}, like {@code torch.scatter_add}. */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) {
        return IndexOps.scatterAdd(this, dim, index, src);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shape.str(shape));
        if (node != null) {
            sb.append(" gradFn=").append(node.op);
        } else if (requiresGrad) {
            sb.append(" requiresGrad");
        }
        if (numel <= 16) {
            sb.append(' ').append(Arrays.toString(toFloatArray()));
        }
        return sb.toString();
    }
}
