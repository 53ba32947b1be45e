package org.xformers4j.tensor;

import java.util.Arrays;
import org.xformers4j.compute.ReduceOp;

/** The backward half of broadcasting: sums a gradient back down to the shape of the operand that was broadcast. */
final class Broadcast {

    private Broadcast() {
    }

    /** Sums {@code grad} over the dimensions that broadcasting expanded from {@code shape}; no graph is recorded. */
    static Tensor sumTo(Tensor grad, int[] shape) {
        int[] gShape = grad.shape();
        if (Arrays.equals(gShape, shape)) {
            return grad;
        }
        int shift = gShape.length - shape.length;
        if (shift < 0) {
            throw new IllegalArgumentException("sumTo: cannot reduce shape " + Shape.str(gShape) + " to "
                    + Shape.str(shape));
        }
        Tensor current = grad;
        int[] currentShape = gShape;
        for (int d = 0; d < gShape.length; d++) {
            int target = d < shift ? 1 : shape[d - shift];
            if (currentShape[d] == target) {
                continue;
            }
            if (target != 1) {
                throw new IllegalArgumentException("sumTo: cannot reduce shape " + Shape.str(gShape) + " to "
                        + Shape.str(shape));
            }
            int[] reduced = currentShape.clone();
            reduced[d] = 1;
            Tensor out = Tensor.zeros(current.backend(), reduced);
            current.backend().reduce(ReduceOp.SUM, current.buffer(), Shape.outer(currentShape, d), currentShape[d],
                    Shape.inner(currentShape, d), out.buffer(), null);
            current = out;
            currentShape = reduced;
        }
        return new Tensor(current.buffer(), shape);
    }
}
