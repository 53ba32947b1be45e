package org.xformers4j.train;

import java.util.List;
import org.xformers4j.tensor.Tensor;

/**
 * Runs between the backward pass of a step (all its micro-batches) and everything that reads the
 * gradients (the non-finite guard, clipping, the optimiser): where data-parallel training averages
 * the gradients of its replicas (an all-reduce) so every replica takes the same step.
 */
@FunctionalInterface
public interface GradientSync {

    /** Leaves the gradients as they are: training on one process. */
    GradientSync NONE = (parameters, step) -> { };

    /**
     * Makes the gradients of {@code parameters} (in the optimiser's order; a parameter without a
     * gradient has a null {@link Tensor#grad()}) those of the global batch of step {@code step}, in place.
     */
    void synchronize(List<Tensor> parameters, long step);
}
