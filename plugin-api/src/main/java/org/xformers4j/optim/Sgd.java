package org.xformers4j.optim;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xformers4j.compute.Buffer;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Stochastic gradient descent with optional momentum (Sutskever et al., 2013, "On the importance
 * of initialization and momentum in deep learning"), dampening, Nesterov momentum and L2 weight
 * decay, as {@code torch.optim.SGD} defines them:
 * <pre>
 *   g   = grad + wd·p
 *   buf = g on the first step, else μ·buf + (1 - dampening)·g
 *   g   = nesterov ? g + μ·buf : buf        (when μ != 0)
 *   p  -= lr·g
 * </pre>
 * The momentum buffers live on each parameter's backend; the update runs in
 * {@link org.xformers4j.compute.ComputeBackend#sgdStep}.
 */
public final class Sgd extends Optimizer {

    private static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final float momentum;
    private final float dampening;
    private final boolean nesterov;
    private final float weightDecay;
    private final Buffer[] buffers;

    /** Plain SGD: no momentum, no weight decay. */
    public Sgd(Module module, float learningRate) {
        this(module, learningRate, 0f, 0f, false, 0f);
    }

    /** SGD over a module's parameters; weight decay skips its no-decay parameters. */
    public Sgd(Module module, float learningRate, float momentum, float dampening, boolean nesterov,
               float weightDecay) {
        this(module.parameters(), noDecayParameters(module), learningRate, momentum, dampening, nesterov,
                weightDecay);
    }

    /** SGD over {@code parameters}, all of them decayed. */
    public Sgd(List<Tensor> parameters, float learningRate, float momentum, float dampening, boolean nesterov,
               float weightDecay) {
        this(parameters, Set.of(), learningRate, momentum, dampening, nesterov, weightDecay);
    }

    private Sgd(List<Tensor> parameters, Set<Tensor> noDecay, float learningRate, float momentum, float dampening,
                boolean nesterov, float weightDecay) {
        super(parameters, noDecay, learningRate);
        this.momentum = checkNonNegative("momentum", momentum, false);
        if (!(dampening >= 0f && dampening <= 1f)) {
            throw new IllegalArgumentException("Sgd: dampening must be in [0, 1], got " + dampening);
        }
        if (nesterov && (momentum == 0f || dampening != 0f)) {
            throw new IllegalArgumentException("Sgd: Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                    + momentum + " and dampening " + dampening);
        }
        this.dampening = dampening;
        this.nesterov = nesterov;
        this.weightDecay = checkNonNegative("weightDecay", weightDecay, false);
        this.buffers = new Buffer[parameters.size()];
    }

    @Override
    protected void update(int index, Tensor param, Tensor grad, boolean decay) {
        int n = param.numel();
        boolean first = momentum != 0f && buffers[index] == null;
        if (first) {
            buffers[index] = param.backend().allocate(n);
        }
        param.backend().sgdStep(param.buffer(), grad.buffer(), buffers[index], n, learningRate(), momentum,
                dampening, nesterov, decay ? weightDecay : 0f, first);
    }

    /** {@code momentum_buffer} with momentum, none without. */
    @Override
    protected Set<String> bufferNames() {
        return momentum == 0f ? Set.of() : Set.of(MOMENTUM_BUFFER);
    }

    @Override
    protected OptimizerState.Slot slot(int index) {
        Buffer buffer = buffers[index];
        return new OptimizerState.Slot(0, buffer == null ? Map.of()
                : Map.of(MOMENTUM_BUFFER, buffer.backend().download(buffer, parameters().get(index).numel())));
    }

    @Override
    protected void loadSlot(int index, OptimizerState.Slot slot) {
        if (buffers[index] != null) {
            buffers[index].close();
        }
        float[] values = slot.buffers().get(MOMENTUM_BUFFER);
        buffers[index] = values == null ? null : parameters().get(index).backend().upload(values);
    }

    public float momentum() {
        return momentum;
    }

    public float dampening() {
        return dampening;
    }

    public boolean nesterov() {
        return nesterov;
    }

    public float weightDecay() {
        return weightDecay;
    }
}
