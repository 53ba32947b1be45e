package org.xformers4j.optim;

import java.util.List;
import java.util.Set;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter, 2019, "Decoupled Weight Decay
 * Regularization"), as {@code torch.optim.AdamW}: each step first shrinks the parameter,
 * p -= lr·wd·p, then applies the Adam update to the undecayed gradient.
 *
 * <p>Built from a {@link Module}, it does not decay the parameters the module registered without
 * decay (biases and normalisation gains), the usual practice for Transformers.
 */
public final class AdamW extends Adam {

    /** AdamW with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(Module module, float learningRate) {
        this(module, learningRate, 0.9f, 0.999f, 1e-8f, 0.01f);
    }

    /** AdamW over a module's parameters; weight decay skips its no-decay parameters. */
    public AdamW(Module module, float learningRate, float beta1, float beta2, float eps, float weightDecay) {
        super(module.parameters(), noDecayParameters(module), learningRate, beta1, beta2, eps, weightDecay, true);
    }

    /** AdamW over {@code parameters}, all of them decayed. */
    public AdamW(List<Tensor> parameters, float learningRate, float beta1, float beta2, float eps, float weightDecay) {
        super(parameters, Set.of(), learningRate, beta1, beta2, eps, weightDecay, true);
    }
}
