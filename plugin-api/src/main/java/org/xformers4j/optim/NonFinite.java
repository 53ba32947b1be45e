package org.xformers4j.optim;

import java.util.Map;
import java.util.Optional;
import org.xformers4j.tensor.Tensor;

/**
 * Finds NaN or infinite values among named parameters or their gradients: the guard a training
 * loop runs after {@code backward()} and before the optimiser step (a non-finite gradient must
 * never reach the weights), and again after the step (a finite gradient times a huge learning rate
 * can still overflow), so that no checkpoint is ever written from non-finite weights.
 *
 * <p>A tensor is non-finite exactly when the sum of its squares, accumulated in double precision,
 * is: a float's square is at most about 1.2e77, so finite floats never overflow the sum.
 */
public final class NonFinite {

    private NonFinite() {
    }

    /** The name of the first parameter (in map order) whose gradient holds a NaN or infinity. */
    public static Optional<String> gradient(Map<String, Tensor> namedParameters) {
        for (Map.Entry<String, Tensor> e : namedParameters.entrySet()) {
            Tensor grad = e.getValue().grad();
            if (grad != null && !isFinite(grad)) {
                return Optional.of(e.getKey());
            }
        }
        return Optional.empty();
    }

    /** The name of the first parameter (in map order) that holds a NaN or infinity. */
    public static Optional<String> value(Map<String, Tensor> namedParameters) {
        for (Map.Entry<String, Tensor> e : namedParameters.entrySet()) {
            if (!isFinite(e.getValue())) {
                return Optional.of(e.getKey());
            }
        }
        return Optional.empty();
    }

    /** Whether every element of {@code t} is finite. */
    public static boolean isFinite(Tensor t) {
        return Double.isFinite(t.backend().sumOfSquares(t.buffer(), t.numel()));
    }
}
