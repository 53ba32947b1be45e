package org.xformers4j.tensor;

import java.util.Arrays;
import java.util.Locale;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.UnaryOp;

/**
 * Elementwise ops with NumPy broadcasting, forward and backward. The gradient of a broadcast
 * operand is the output gradient summed back to its shape ({@link Broadcast#sumTo}).
 */
final class ElementwiseOps {

    private ElementwiseOps() {
    }

    /** The op name used in graph nodes and error messages: {@code exp}, {@code gelu_erf}, {@code maximum}. */
    private static String name(Enum<?> op) {
        return op.name().toLowerCase(Locale.ROOT);
    }

    private static void requireSameBackend(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t.backend() != first.backend()) {
                throw new IllegalArgumentException(op + ": operands on backends " + first.backend().name() + " and "
                        + t.backend().name());
            }
        }
    }

    /** A 0-d tensor holding {@code value} on {@code backend}. */
    private static Tensor constant(ComputeBackend backend, float value) {
        Tensor t = Tensor.zeros(backend);
        if (value != 0f) {
            backend.fill(t.buffer(), 0, 1, value);
        }
        return t;
    }

    // y = f(x; p); dx = dy · f'(x), computed by the backend from x and y
    static Tensor unary(Tensor x, UnaryOp op, float param) {
        ComputeBackend backend = x.backend();
        int n = x.numel();
        Tensor y = Tensor.zeros(backend, x.shape());
        backend.unary(op, param, x.buffer(), y.buffer(), n);
        return Tensor.record(y, name(op), g -> {
            Tensor dx = Tensor.zeros(backend, g.shape());
            backend.unaryBackward(op, param, x.buffer(), y.buffer(), g.buffer(), dx.buffer(), n);
            return new Tensor[] {dx};
        }, x);
    }

    // out = a ∘ b with broadcasting; comparisons are not differentiable
    static Tensor binary(Tensor a, Tensor b, BinaryOp op) {
        String name = name(op);
        requireSameBackend(name, a, b);
        int[] aShape = a.shape();
        int[] bShape = b.shape();
        int[] shape = Shape.broadcast(name, aShape, bShape);
        Tensor out = Tensor.zeros(a.backend(), shape);
        a.backend().binary(op, shape, a.buffer(), Shape.broadcastStrides(aShape, shape),
                b.buffer(), Shape.broadcastStrides(bShape, shape), out.buffer());
        if (op == BinaryOp.EQ || op == BinaryOp.GT || op == BinaryOp.LT) {
            return out;
        }
        return Tensor.record(out, name, g -> {
            Tensor[] full = binaryBackward(op, g, a, b, out);
            return new Tensor[] {
                full[0] == null ? null : Broadcast.sumTo(full[0], aShape),
                full[1] == null ? null : Broadcast.sumTo(full[1], bShape)
            };
        }, a, b);
    }

    /** Gradients of a ∘ b at the broadcast shape, null for an operand that does not require grad. */
    private static Tensor[] binaryBackward(BinaryOp op, Tensor g, Tensor a, Tensor b, Tensor out) {
        boolean da = a.requiresGrad();
        boolean db = b.requiresGrad();
        switch (op) {
            case ADD:
                return new Tensor[] {da ? g : null, db ? g : null};
            case SUB:
                return new Tensor[] {da ? g : null, db ? g.neg() : null};
            case MUL:
                return new Tensor[] {da ? g.mul(b) : null, db ? g.mul(a) : null};
            case DIV:
                // d(a/b)/db = -a/b² = -out/b
                return new Tensor[] {da ? g.div(b) : null, db ? g.mul(out).div(b).neg() : null};
            case MAXIMUM:
            case MINIMUM: {
                // ties go to a
                Tensor toB = op == BinaryOp.MAXIMUM ? b.gt(a) : b.lt(a);
                Tensor zero = constant(g.backend(), 0f);
                return new Tensor[] {da ? where(toB, zero, g) : null, db ? where(toB, g, zero) : null};
            }
            default:
                throw new AssertionError(op);
        }
    }

    // out = cond != 0 ? a : b, all three broadcast together; gradients to a and b only
    static Tensor where(Tensor condition, Tensor a, Tensor b) {
        requireSameBackend("where", condition, a, b);
        int[] cShape = condition.shape();
        int[] aShape = a.shape();
        int[] bShape = b.shape();
        int[] shape = Shape.broadcast("where", Shape.broadcast("where", cShape, aShape), bShape);
        Tensor out = Tensor.zeros(a.backend(), shape);
        a.backend().where(shape, condition.buffer(), Shape.broadcastStrides(cShape, shape),
                a.buffer(), Shape.broadcastStrides(aShape, shape), b.buffer(), Shape.broadcastStrides(bShape, shape),
                out.buffer());
        return Tensor.record(out, "where", g -> {
            Tensor zero = constant(g.backend(), 0f);
            return new Tensor[] {
                a.requiresGrad() ? Broadcast.sumTo(where(condition, g, zero), aShape) : null,
                b.requiresGrad() ? Broadcast.sumTo(where(condition, zero, g), bShape) : null
            };
        }, a, b);
    }

    // out = mask != 0 ? value : x, mask broadcast to x's shape; dx = mask != 0 ? 0 : dy
    static Tensor maskedFill(Tensor x, Tensor mask, float value) {
        requireSameBackend("maskedFill", x, mask);
        int[] shape = x.shape();
        int[] mShape = mask.shape();
        if (!Arrays.equals(Shape.broadcast("maskedFill", mShape, shape), shape)) {
            throw new IllegalArgumentException("maskedFill: mask of shape " + Shape.str(mShape)
                    + " cannot be broadcast to the input's shape " + Shape.str(shape));
        }
        ComputeBackend backend = x.backend();
        Tensor fill = constant(backend, value);
        Tensor out = Tensor.zeros(backend, shape);
        backend.where(shape, mask.buffer(), Shape.broadcastStrides(mShape, shape), fill.buffer(), new int[shape.length],
                x.buffer(), Shape.strides(shape), out.buffer());
        return Tensor.record(out, "maskedFill",
                g -> new Tensor[] {where(mask, constant(g.backend(), 0f), g)}, x);
    }
}
