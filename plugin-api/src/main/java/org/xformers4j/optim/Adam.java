package org.xformers4j.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Adam (Kingma and Ba, 2015, "Adam: A Method for Stochastic Optimization") with bias correction,
 * as {@code torch.optim.Adam}. Weight decay here is an L2 penalty: wd·p is added to the gradient
 * before the moments are updated; {@link AdamW} decouples it instead.
 *
 * <p>The first and second moment buffers live on each parameter's backend and are updated by
 * {@link org.xformers4j.compute.ComputeBackend#adamStep}. Each parameter counts its own steps
 * (the t of the bias correction), so a parameter that had no gradient for a step is not advanced.
 */
public class Adam extends Optimizer {

    private static final String EXP_AVG = "exp_avg";
    private static final String EXP_AVG_SQ = "exp_avg_sq";

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final boolean decoupled;
    private final Buffer[] m;
    private final Buffer[] v;
    private final int[] steps;

    /** Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public Adam(Module module, float learningRate) {
        this(module, learningRate, 0.9f, 0.999f, 1e-8f, 0f);
    }

    /** Adam over a module's parameters; weight decay skips its no-decay parameters. */
    public Adam(Module module, float learningRate, float beta1, float beta2, float eps, float weightDecay) {
        this(module.parameters(), noDecayParameters(module), learningRate, beta1, beta2, eps, weightDecay, false);
    }

    /** Adam over {@code parameters}, all of them decayed. */
    public Adam(List<Tensor> parameters, float learningRate, float beta1, float beta2, float eps, float weightDecay) {
        this(parameters, Set.of(), learningRate, beta1, beta2, eps, weightDecay, false);
    }

    Adam(List<Tensor> parameters, Set<Tensor> noDecay, float learningRate, float beta1, float beta2, float eps,
         float weightDecay, boolean decoupled) {
        super(parameters, noDecay, learningRate);
        this.beta1 = checkUnitInterval("beta1", beta1);
        this.beta2 = checkUnitInterval("beta2", beta2);
        this.eps = checkNonNegative("eps", eps, true);
        this.weightDecay = checkNonNegative("weightDecay", weightDecay, false);
        this.decoupled = decoupled;
        this.m = new Buffer[parameters.size()];
        this.v = new Buffer[parameters.size()];
        this.steps = new int[parameters.size()];
    }

    @Override
    protected final void update(int index, Tensor param, Tensor grad, boolean decay) {
        int n = param.numel();
        if (m[index] == null) {
            m[index] = param.backend().allocate(n);
            v[index] = param.backend().allocate(n);
        }
        steps[index]++;
        param.backend().adamStep(param.buffer(), grad.buffer(), m[index], v[index], n, learningRate(),
                beta1, beta2, eps, decay ? weightDecay : 0f, decoupled, steps[index]);
    }

    @Override
    protected final Set<String> bufferNames() {
        return Set.of(EXP_AVG, EXP_AVG_SQ);
    }

    @Override
    protected final OptimizerState.Slot slot(int index) {
        Map<String, float[]> buffers = new LinkedHashMap<>();
        if (m[index] != null) {
            Tensor param = parameters().get(index);
            buffers.put(EXP_AVG, param.backend().download(m[index], param.numel()));
            buffers.put(EXP_AVG_SQ, param.backend().download(v[index], param.numel()));
        }
        return new OptimizerState.Slot(steps[index], buffers);
    }

    @Override
    protected final void loadSlot(int index, OptimizerState.Slot slot) {
        if (m[index] != null) {
            m[index].close();
            v[index].close();
        }
        ComputeBackend backend = parameters().get(index).backend();
        boolean empty = slot.buffers().isEmpty();
        m[index] = empty ? null : backend.upload(slot.buffers().get(EXP_AVG));
        v[index] = empty ? null : backend.upload(slot.buffers().get(EXP_AVG_SQ));
        steps[index] = slot.step();
    }

    public final float beta1() {
        return beta1;
    }

    public final float beta2() {
        return beta2;
    }

    public final float eps() {
        return eps;
    }

    public final float weightDecay() {
        return weightDecay;
    }
}
