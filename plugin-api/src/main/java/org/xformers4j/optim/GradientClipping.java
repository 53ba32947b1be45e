package org.xformers4j.optim;

import java.util.Collection;
import org.xformers4j.compute.UnaryOp;
import org.xformers4j.tensor.Tensor;

/** Gradient clipping by global norm, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradientClipping {

    private GradientClipping() {
    }

    /**
     * Scales the gradients of {@code parameters} in place so that their global L2 norm, taken over
     * all of them as one vector, is at most {@code maxNorm} (Pascanu et al., 2013, "On the
     * difficulty of training recurrent neural networks"). Parameters without a gradient are
     * skipped. As in PyTorch, the scale is maxNorm / (norm + 1e-6), applied only when below 1;
     * a non-finite norm leaves the gradients unchanged.
     *
     * @return the global norm before clipping
     */
    public static double clipGradNorm(Collection<Tensor> parameters, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("clipGradNorm: maxNorm must be finite and > 0, got " + maxNorm);
        }
        double sumOfSquares = 0;
        for (Tensor p : parameters) {
            Tensor g = p.grad();
            if (g != null) {
                sumOfSquares += g.backend().sumOfSquares(g.buffer(), g.numel());
            }
        }
        double norm = Math.sqrt(sumOfSquares);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1) {
            scaleGradients(parameters, (float) scale);
        }
        return norm;
    }

    /** Multiplies the gradient of every parameter that has one by {@code factor}, in place. */
    public static void scaleGradients(Collection<Tensor> parameters, float factor) {
        for (Tensor p : parameters) {
            Tensor g = p.grad();
            if (g != null) {
                g.backend().unary(UnaryOp.MUL_SCALAR, factor, g.buffer(), g.buffer(), g.numel());
            }
        }
    }
}
