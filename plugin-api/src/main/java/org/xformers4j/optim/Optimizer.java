package org.xformers4j.optim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Updates parameters in place from their accumulated gradients, as {@code torch.optim.Optimizer}.
 *
 * <p>Built from a {@link Module}, an optimiser applies weight decay only to the parameters the
 * module does not list in {@link Module#noDecayParameterNames()} (biases, normalisation gains);
 * built from a list of tensors, it applies it to all of them. Parameters without a gradient are
 * skipped by {@link #step()}. The learning rate may be changed between steps, e.g. from a
 * {@link LearningRateSchedule}.
 *
 * <p>{@link #state(Map)} and {@link #loadState(OptimizerState, Map)} export and restore the step
 * count, the learning rate and the per-parameter buffers under the parameters' names, so that an
 * optimiser built afresh over a freshly built module continues bit for bit where the saved one
 * stopped (see {@link org.xformers4j.io.Checkpoint}).
 */
public abstract class Optimizer {

    private final List<Tensor> parameters;
    private final boolean[] decay;
    private float learningRate;
    private int stepCount;

    /**
     * Optimises {@code parameters}, applying weight decay to those not in {@code noDecay}.
     * Subclasses offer a constructor from a {@link Module}, passing {@link #noDecayParameters(Module)},
     * and one from a list, passing an empty set.
     */
    protected Optimizer(List<Tensor> parameters, Set<Tensor> noDecay, float learningRate) {
        this.parameters = List.copyOf(parameters);
        this.decay = new boolean[parameters.size()];
        Map<Tensor, Integer> seen = new IdentityHashMap<>();
        for (int i = 0; i < decay.length; i++) {
            Tensor p = this.parameters.get(i);
            if (!p.requiresGrad() || !p.isLeaf()) {
                throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter " + i + " " + p
                        + " must be a leaf tensor that requires grad");
            }
            Integer previous = seen.put(p, i);
            if (previous != null) {
                throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter " + i
                        + " is the same tensor as parameter " + previous);
            }
            decay[i] = !noDecay.contains(p);
        }
        setLearningRate(learningRate);
    }

    /** The tensors {@code module} registered without weight decay, as an identity set. */
    protected static Set<Tensor> noDecayParameters(Module module) {
        Set<Tensor> out = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<String, Tensor> named = module.namedParameters();
        for (String name : module.noDecayParameterNames()) {
            out.add(named.get(name));
        }
        return out;
    }

    /** Applies one update to every parameter that has a gradient. */
    public final void step() {
        stepCount++;
        for (int i = 0; i < parameters.size(); i++) {
            Tensor p = parameters.get(i);
            if (p.grad() != null) {
                update(i, p, p.grad(), decay[i]);
            }
        }
    }

    /**
     * Updates parameter {@code index} in place from {@code grad} (same shape and backend).
     *
     * @param decay whether weight decay applies to this parameter
     */
    protected abstract void update(int index, Tensor param, Tensor grad, boolean decay);

    /**
     * A host copy of this optimiser's state, each parameter's under its name in
     * {@code namedParameters} (usually the module's {@link Module#namedParameters()}).
     *
     * @throws IllegalArgumentException if a parameter has no name there
     */
    public final OptimizerState state(Map<String, Tensor> namedParameters) {
        List<String> names = namesOf(namedParameters);
        Map<String, OptimizerState.Slot> slots = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            slots.put(names.get(i), slot(i));
        }
        return new OptimizerState(getClass().getSimpleName(), stepCount, learningRate, slots);
    }

    /**
     * Replaces this optimiser's state with {@code state}, matching its entries to the parameters
     * through their names in {@code namedParameters}. The state must come from the same kind of
     * optimiser, name exactly this optimiser's parameters and hold, for each, either no buffers or
     * exactly {@link #bufferNames()}, each as long as the parameter; otherwise nothing is changed
     * and the exception lists every problem.
     */
    public final void loadState(OptimizerState state, Map<String, Tensor> namedParameters) {
        List<String> names = namesOf(namedParameters);
        String kind = getClass().getSimpleName();
        List<String> problems = new ArrayList<>();
        if (!state.optimizer().equals(kind)) {
            problems.add("the state was saved by " + state.optimizer());
        }
        if (!(state.learningRate() >= 0) || Float.isInfinite(state.learningRate())) {
            problems.add("learning rate must be finite and >= 0, got " + state.learningRate());
        }
        for (int i = 0; i < names.size(); i++) {
            OptimizerState.Slot slot = state.parameters().get(names.get(i));
            if (slot == null) {
                problems.add("missing '" + names.get(i) + "'");
            } else {
                checkSlot(names.get(i), slot, parameters.get(i).numel(), problems);
            }
        }
        for (String name : state.parameters().keySet()) {
            if (!names.contains(name)) {
                problems.add("unexpected '" + name + "'");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(kind + ".loadState: " + String.join("; ", problems)
                    + "; nothing was loaded");
        }
        stepCount = state.stepCount();
        learningRate = state.learningRate();
        for (int i = 0; i < names.size(); i++) {
            loadSlot(i, state.parameters().get(names.get(i)));
        }
    }

    private void checkSlot(String name, OptimizerState.Slot slot, int numel, List<String> problems) {
        Map<String, float[]> buffers = slot.buffers();
        if (!buffers.isEmpty() && !buffers.keySet().equals(bufferNames())) {
            problems.add("'" + name + "' has buffers " + buffers.keySet() + ", expected " + bufferNames() + " or none");
        }
        buffers.forEach((buffer, values) -> {
            if (values.length != numel) {
                problems.add("'" + name + "' buffer '" + buffer + "' has " + values.length
                        + " values but the parameter has " + numel);
            }
        });
    }

    /** The name of each parameter in {@code namedParameters}, in this optimiser's order. */
    private List<String> namesOf(Map<String, Tensor> namedParameters) {
        Map<Tensor, String> byTensor = new IdentityHashMap<>();
        namedParameters.forEach((name, tensor) -> byTensor.putIfAbsent(tensor, name));
        List<String> names = new ArrayList<>(parameters.size());
        for (int i = 0; i < parameters.size(); i++) {
            String name = byTensor.get(parameters.get(i));
            if (name == null) {
                throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter " + i + " "
                        + parameters.get(i) + " has no name among the named parameters " + namedParameters.keySet());
            }
            names.add(name);
        }
        return names;
    }

    /** The names of the buffers this optimiser keeps per parameter, as in PyTorch's state dict. */
    protected abstract Set<String> bufferNames();

    /** A host copy of what this optimiser keeps for parameter {@code index}. */
    protected abstract OptimizerState.Slot slot(int index);

    /**
     * Replaces what this optimiser keeps for parameter {@code index} with {@code slot}, which
     * holds no buffers or exactly {@link #bufferNames()}, each as long as the parameter.
     */
    protected abstract void loadSlot(int index, OptimizerState.Slot slot);

    /** Forgets the gradient of every parameter. */
    public final void zeroGrad() {
        for (Tensor p : parameters) {
            p.zeroGrad();
        }
    }

    /** The learning rate the next step uses. */
    public final float learningRate() {
        return learningRate;
    }

    /** Sets the learning rate for the following steps; it must be finite and >= 0. */
    public final void setLearningRate(float learningRate) {
        if (!(learningRate >= 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + ": learning rate must be finite and >= 0, got " + learningRate);
        }
        this.learningRate = learningRate;
    }

    /** The number of {@link #step()} calls so far. */
    public final int stepCount() {
        return stepCount;
    }

    /** The parameters, in order. */
    public final List<Tensor> parameters() {
        return parameters;
    }

    /** Checks {@code value} lies in [0, 1), naming the optimiser and the hyperparameter. */
    final float checkUnitInterval(String name, float value) {
        if (!(value >= 0f && value < 1f)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + name
                    + " must be in [0, 1), got " + value);
        }
        return value;
    }

    /** Checks {@code value} is finite and >= 0 (or > 0 when {@code strict}). */
    final float checkNonNegative(String name, float value, boolean strict) {
        if (!(strict ? value > 0f : value >= 0f) || Float.isInfinite(value)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + name + " must be finite and "
                    + (strict ? "> 0" : ">= 0") + ", got " + value);
        }
        return value;
    }
}
