package org.xformers4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

/**
 * A layer with named parameters and named submodules, as {@code torch.nn.Module}.
 *
 * <p>Subclasses register their parameters and submodules in their constructor, in the order they
 * are used; {@link #namedParameters()} lists every parameter of the tree under a dotted name such
 * as {@code ffn.up.weight}. Parameters are leaf tensors that require grad. A parameter registered
 * without weight decay (biases, normalisation gains) is listed by {@link #noDecayParameterNames()},
 * which {@link org.xformers4j.optim.AdamW} and the other optimisers honour when built from a module.
 *
 * <p>A module is in training mode when created; {@link #eval()} and {@link #train()} switch the
 * whole tree (dropout reads the mode).
 *
 * <p>Backend. A module creates its parameters (and any fixed table) on
 * {@link org.xformers4j.compute.Backends#defaultBackend()} when it is constructed: to build one on
 * another backend, construct it inside {@link org.xformers4j.compute.Backends#use}. Every tensor it
 * creates afterwards, in a forward pass or a decoding step, comes from the backend of its inputs
 * or parameters, never from the default; {@link #loadStateDict} writes in place, so loaded weights
 * stay where the parameters are.
 */
public abstract class Module {

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Set<String> noDecay = new LinkedHashSet<>();
    private final Map<String, Module> modules = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a parameter that takes weight decay; see {@link #registerParameter(String, Tensor, boolean)}. */
    protected final Tensor registerParameter(String name, Tensor tensor) {
        return registerParameter(name, tensor, true);
    }

    /**
     * Registers {@code tensor} as a parameter called {@code name} and marks it as requiring grad.
     *
     * @param decay whether optimisers apply weight decay to it ({@code false} for biases and norm gains)
     * @return the tensor, to assign to a field
     */
    protected final Tensor registerParameter(String name, Tensor tensor, boolean decay) {
        checkName(name);
        if (tensor == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name + "' is null");
        }
        if (!tensor.isLeaf()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name
                    + "' must be a leaf tensor, got one computed by " + tensor.gradFnName());
        }
        parameters.put(name, tensor.requiresGrad(true));
        if (!decay) {
            noDecay.add(name);
        }
        return tensor;
    }

    /** Registers {@code module} as a submodule called {@code name}; returns it, to assign to a field. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        if (module == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": module '" + name + "' is null");
        }
        modules.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + ": a parameter or module name must be non-empty and contain no '.', got '" + name + "'");
        }
        if (parameters.containsKey(name) || modules.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": name '" + name
                    + "' is already registered");
        }
    }

    /**
     * Every parameter of this module and its submodules, in registration order, under dotted
     * names. A tensor registered more than once (tied weights) is listed once, under its first name.
     */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, new LinkedHashSet<>(), Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /** The dotted names, among {@link #namedParameters()}, of the parameters registered without weight decay. */
    public final Set<String> noDecayParameterNames() {
        Set<String> out = new LinkedHashSet<>();
        collect("", new LinkedHashMap<>(), out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> params, Set<String> noDecayNames, Set<Tensor> seen) {
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            if (seen.add(e.getValue())) {
                params.put(prefix + e.getKey(), e.getValue());
                if (noDecay.contains(e.getKey())) {
                    noDecayNames.add(prefix + e.getKey());
                }
            }
        }
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", params, noDecayNames, seen);
        }
    }

    /**
     * The modules of this tree, this one included, that are a {@link ReplayableState} (the
     * generators of {@link Dropout} layers, a mechanism's counter of training calls), each once,
     * depth first in registration order: what a recomputation of this module's forward pass must
     * rewind ({@link org.xformers4j.tensor.ActivationCheckpoint}).
     */
    public final List<ReplayableState> replayableStates() {
        List<ReplayableState> out = new ArrayList<>();
        collectStates(out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collectStates(List<ReplayableState> out, Set<Module> seen) {
        if (!seen.add(this)) {
            return;
        }
        if (this instanceof ReplayableState state) {
            out.add(state);
        }
        for (Module m : modules.values()) {
            m.collectStates(out, seen);
        }
    }

    /** Every parameter, in the order of {@link #namedParameters()}. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The number of parameter elements in the tree. */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += t.numel();
        }
        return n;
    }

    /** Forgets the accumulated gradient of every parameter. */
    public final void zeroGrad() {
        for (Tensor t : namedParameters().values()) {
            t.zeroGrad();
        }
    }

    /** Whether this module is in training mode. */
    public final boolean isTraining() {
        return training;
    }

    /** Sets training ({@code true}) or evaluation mode on this module and all its submodules. */
    public final void train(boolean mode) {
        training = mode;
        for (Module m : modules.values()) {
            m.train(mode);
        }
    }

    /** Training mode for the whole tree. */
    public final void train() {
        train(true);
    }

    /** Evaluation mode for the whole tree (dropout becomes the identity). */
    public final void eval() {
        train(false);
    }

    /** Host copies of every parameter under its dotted name, in the order of {@link #namedParameters()}. */
    public final Map<String, ParameterState> stateDict() {
        Map<String, ParameterState> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : namedParameters().entrySet()) {
            out.put(e.getKey(), new ParameterState(e.getValue().shape(), e.getValue().toFloatArray()));
        }
        return out;
    }

    /**
     * Copies the values of {@code state} into the parameters, in place (optimisers keep working on
     * the same tensors). The names must be exactly those of {@link #namedParameters()} and every
     * shape must match; otherwise nothing is changed and the exception lists every missing,
     * unexpected and mis-shaped entry.
     */
    public final void loadStateDict(Map<String, ParameterState> state) {
        Map<String, Tensor> params = namedParameters();
        List<String> problems = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!state.containsKey(name)) {
                problems.add("missing '" + name + "'");
            }
        }
        for (Map.Entry<String, ParameterState> e : state.entrySet()) {
            Tensor target = params.get(e.getKey());
            if (target == null) {
                problems.add("unexpected '" + e.getKey() + "'");
            } else if (e.getValue() == null) {
                problems.add("'" + e.getKey() + "' is null");
            } else if (!Arrays.equals(target.shape(), e.getValue().shape())) {
                problems.add("'" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but the parameter has shape " + Arrays.toString(target.shape()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ".loadStateDict: " + String.join("; ", problems)
                    + "; nothing was loaded");
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                e.getValue().copyFrom(state.get(e.getKey()).values());
            }
        }
    }
}
