package org.xformers4j.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A host copy of an {@link Optimizer}'s state, as PyTorch's {@code optimizer.state_dict()}: the
 * number of steps taken, the learning rate of the next step and, under each parameter's name, the
 * state the optimiser keeps for it. Names tie the state to parameters, so it maps back onto a
 * freshly built module and optimiser; see {@link Optimizer#state(Map)} and
 * {@link Optimizer#loadState(OptimizerState, Map)}.
 *
 * @param optimizer    the simple class name of the optimiser, e.g. {@code AdamW}
 * @param stepCount    the number of {@link Optimizer#step()} calls
 * @param learningRate the learning rate the next step uses
 * @param parameters   per-parameter state under the parameters' names, in the optimiser's order
 */
public record OptimizerState(String optimizer, int stepCount, float learningRate, Map<String, Slot> parameters) {

    /** Copies the map, keeping its order. */
    public OptimizerState {
        if (optimizer == null || optimizer.isEmpty()) {
            throw new IllegalArgumentException("OptimizerState: optimizer name must be non-empty, got '" + optimizer
                    + "'");
        }
        if (stepCount < 0) {
            throw new IllegalArgumentException("OptimizerState: stepCount must be >= 0, got " + stepCount);
        }
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /**
     * What an optimiser keeps for one parameter, with PyTorch's names: Adam's {@code step},
     * {@code exp_avg} and {@code exp_avg_sq}; SGD's {@code momentum_buffer} (and step 0).
     * Buffers are empty before the parameter's first update.
     *
     * @param step    the number of updates this parameter received (Adam's bias-correction t)
     * @param buffers the per-parameter buffers by name, each with as many values as the parameter;
     *                the map is unmodifiable, and {@link #buffer(String)} returns a copy of one
     */
    public record Slot(int step, Map<String, float[]> buffers) {

        /** Copies the map and its arrays. */
        public Slot {
            if (step < 0) {
                throw new IllegalArgumentException("OptimizerState.Slot: step must be >= 0, got " + step);
            }
            Map<String, float[]> copy = new LinkedHashMap<>();
            buffers.forEach((name, values) -> copy.put(name, values.clone()));
            buffers = Collections.unmodifiableMap(copy);
        }

        /** A copy of buffer {@code name}'s values, or {@code null} when there is none. */
        public float[] buffer(String name) {
            float[] values = buffers.get(name);
            return values == null ? null : values.clone();
        }
    }
}
