package org.xformers4j.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Activation checkpointing, or gradient checkpointing (Chen et al., 2016, "Training Deep Nets with
 * Sublinear Memory Cost"; PyTorch's {@code torch.utils.checkpoint}): runs a function of some input
 * tensors without recording its graph, so that none of its intermediate results is kept for the
 * backward pass, only its inputs; the backward pass runs the function again, with recording on,
 * on detached copies of the inputs, and back-propagates the output's gradient through that
 * recomputed graph. The gradients are those of the plain function, for one more forward pass of
 * compute; the memory of its intermediates is held only while its own backward runs.
 * <pre>{@code
 * Tensor y = ActivationCheckpoint.apply(in -> block.forward(in[0], context),
 *         block.parameters(), block.replayableStates(), x);
 * }</pre>
 *
 * <p>Gradients. The gradients of the inputs come back through the op; those of {@code parameters},
 * and of any other leaf the function reads, are accumulated into their {@link Tensor#grad()} by
 * the recomputed graph's backward pass, as an ordinary backward pass accumulates them. The op is
 * recorded when one input or parameter requires grad, so list every parameter the function reads:
 * one left out still gets its gradient, but only when something listed requires grad. A tensor
 * that was computed with grad (not a leaf) must be an input, not read from outside: the
 * recomputed graph would lead into the graph that computed it, which would then be walked once
 * more for every recomputation. The same tensor may be given as several inputs; the function then
 * receives one detached copy in each of those places, so that it can still tell they are the same.
 *
 * <p>Randomness and other state. The function must compute the same in its recomputation as in
 * its forward pass. What it draws from generators, or reads from counters that its calls advance,
 * must be listed in {@code states} ({@link ReplayableState}: a {@link ReplayableRandom} drawing
 * dropout masks, a module's {@link org.xformers4j.nn.Module#replayableStates()}): the op saves them
 * before the forward pass and, in backward, sets them back for the recomputation and then forward
 * to where they were, so the recomputation draws the same masks (PyTorch's {@code
 * preserve_rng_state}) and later draws are not shifted by it.
 *
 * <p>With recording off ({@link GradMode#noGrad()}), or when nothing listed requires grad, the
 * function simply runs: there is no backward pass to prepare for.
 */
public final class ActivationCheckpoint {

    private ActivationCheckpoint() {
    }

    /**
     * {@code function(inputs)}, recomputed in the backward pass instead of stored.
     *
     * @param function   the computation; deterministic given its inputs and the listed states
     * @param parameters the leaf tensors the function reads besides its inputs (a module's
     *                   {@link org.xformers4j.nn.Module#parameters()}); may be empty
     * @param states     what the function draws from or advances (generators, counters); may be empty
     * @param inputs     the function's arguments, kept for the recomputation
     * @return the function's result, a new tensor whose backward recomputes the function
     */
    public static Tensor apply(Function<Tensor[], Tensor> function, List<Tensor> parameters,
                               List<? extends ReplayableState> states, Tensor... inputs) {
        if (function == null || parameters == null || states == null || inputs == null) {
            throw new IllegalArgumentException("ActivationCheckpoint: function, parameters, states and inputs must "
                    + "not be null");
        }
        Tensor[] all = new Tensor[inputs.length + parameters.size()];
        boolean any = false;
        for (int i = 0; i < all.length; i++) {
            Tensor t = i < inputs.length ? inputs[i] : parameters.get(i - inputs.length);
            if (t == null) {
                throw new IllegalArgumentException("ActivationCheckpoint: " + (i < inputs.length ? "input " + i
                        : "parameter " + (i - inputs.length)) + " is null");
            }
            all[i] = t;
            any |= t.requiresGrad();
        }
        if (!GradMode.isEnabled() || !any) {
            return function.apply(inputs.clone());
        }
        return new Recomputed(function, inputs.length, distinct(states)).apply(all);
    }

    private static List<ReplayableState> distinct(List<? extends ReplayableState> states) {
        Set<ReplayableState> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<ReplayableState> out = new ArrayList<>(states.size());
        for (ReplayableState s : states) {
            if (s == null) {
                throw new IllegalArgumentException("ActivationCheckpoint: a state is null");
            }
            if (seen.add(s)) {
                out.add(s);
            }
        }
        return out;
    }

    private static Object[] save(List<ReplayableState> states) {
        Object[] saved = new Object[states.size()];
        for (int i = 0; i < saved.length; i++) {
            saved[i] = states.get(i).saveState();
        }
        return saved;
    }

    private static void restore(List<ReplayableState> states, Object[] saved) {
        for (int i = 0; i < saved.length; i++) {
            states.get(i).restoreState(saved[i]);
        }
    }

    /** The op: the inputs, then the parameters, whose gradients the recomputed graph accumulates itself. */
    private static final class Recomputed extends CustomFunction {

        private final Function<Tensor[], Tensor> function;
        private final int inputCount;
        private final List<ReplayableState> states;
        private Tensor[] inputs;       // what is kept for the backward pass
        private Object[] savedStates;  // the states as the forward pass found them
        private int[] outShape;
        private int totalCount;

        Recomputed(Function<Tensor[], Tensor> function, int inputCount, List<ReplayableState> states) {
            this.function = function;
            this.inputCount = inputCount;
            this.states = states;
        }

        @Override
        protected String name() {
            return "ActivationCheckpoint";
        }

        @Override
        protected Tensor forward(Tensor... all) {
            inputs = Arrays.copyOf(all, inputCount);
            totalCount = all.length;
            savedStates = save(states);
            Tensor out = function.apply(inputs.clone());
            outShape = out.shape();
            return out;
        }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            // one detached leaf per distinct input, so aliased inputs stay aliased
            Tensor[] leaves = new Tensor[inputCount];
            IdentityHashMap<Tensor, Tensor> copies = new IdentityHashMap<>();
            boolean[] first = new boolean[inputCount];
            for (int i = 0; i < inputCount; i++) {
                Tensor in = inputs[i];
                Tensor copy = copies.get(in);
                first[i] = copy == null;
                if (copy == null) {
                    copy = in.detach().requiresGrad(in.requiresGrad());
                    copies.put(in, copy);
                }
                leaves[i] = copy;
            }
            Object[] now = save(states);
            restore(states, savedStates);
            Tensor out;
            try (GradMode.Scope ignored = GradMode.enableGrad()) {
                out = function.apply(leaves.clone());
            } finally {
                restore(states, now);
            }
            if (!Arrays.equals(out.shape(), outShape)) {
                throw new IllegalStateException("ActivationCheckpoint: the recomputation returned shape "
                        + Shape.str(out.shape()) + ", the forward pass " + Shape.str(outShape)
                        + "; the function must compute the same both times");
            }
            if (out.requiresGrad()) {
                out.backward(gradOutput);      // accumulates into the leaves and the parameters
            }
            Tensor[] grads = new Tensor[totalCount];   // null for the parameters: accumulated already
            for (int i = 0; i < inputCount; i++) {
                grads[i] = first[i] && inputs[i].requiresGrad() ? leaves[i].grad() : null;
            }
            return grads;
        }
    }
}
