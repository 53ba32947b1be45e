package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * {@code gradient-parameters}, for encodings that declare {@link PositionalCapabilities#learnable()}:
 * the encoding is a {@link Module} with parameters, and their gradients through every hook it
 * declares (the embeddings with positions added, the scores {@code q'·k'ᵀ} of the rotated queries
 * and keys, the bias of {@value PositionalCheck#LENGTH} queries over as many keys) match its own
 * float32 central differences with step {@value #STEP} to within {@value #TOLERANCE}. The step is
 * smaller than the attention suite's so that fewer differences straddle a kink of a piecewise
 * linear network (a ReLU MLP); float32 rounding divided by the step stays near 1e-4.
 */
final class PositionalParameterGradients implements PositionalCheck {

    static final double STEP = 1e-3;
    static final double TOLERANCE = 1e-2;

    @Override
    public String name() {
        return "gradient-parameters";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.capabilities().learnable();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        PositionalEncoding encoding = subject.create();
        if (!(encoding instanceof Module module) || module.parameters().isEmpty()) {
            return Verdict.fail("declares learnable, but " + encoding.getClass().getName()
                    + " is not a Module with parameters");
        }
        if (!subject.hasHooks()) {
            return Verdict.fail("declares learnable, but no hook through which its parameters could act");
        }
        PositionalCapabilities c = subject.capabilities();
        SplittableRandom rng = new SplittableRandom(SEED + 30);
        Tensor x = Tensor.randn(rng, BATCH, LENGTH, MODEL_DIM);
        Tensor q = Tensor.randn(rng, BATCH, HEADS, LENGTH, HEAD_DIM);
        Tensor k = Tensor.randn(rng, BATCH, HEADS, LENGTH, HEAD_DIM);
        return ParameterGradients.againstFiniteDifferences(module, () -> {
            List<Tensor> outputs = new ArrayList<>();
            if (c.addsToEmbeddings()) {
                outputs.add(encoding.addToEmbeddings(x, 0).reshape(-1));
            }
            if (c.rotatesQueryKey()) {
                Tensor[] rotated = encoding.rotateQueryKey(q, k, 0, 0);
                outputs.add(rotated[0].matmul(rotated[1], false, true).reshape(-1));
            }
            if (c.attentionBias()) {
                outputs.add(encoding.attentionBias(HEADS, LENGTH, LENGTH, 0).reshape(-1));
            }
            return Tensor.concat(0, outputs.toArray(Tensor[]::new));
        }, STEP, TOLERANCE);
    }
}
