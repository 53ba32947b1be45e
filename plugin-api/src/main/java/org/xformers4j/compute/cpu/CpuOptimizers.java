package org.xformers4j.compute.cpu;

/**
 * In-place optimiser update kernels of {@link CpuBackend}; see
 * {@link org.xformers4j.compute.ComputeBackend#adamStep} and
 * {@link org.xformers4j.compute.ComputeBackend#sgdStep} for the contracts. Each element is updated
 * on its own, so chunks of the parameter run in parallel and the result does not depend on the
 * thread count. The gradient is only read.
 */
final class CpuOptimizers {

    /** Elements per chunk below which an update runs on the calling thread. */
    private static final int GRAIN = 1 << 15;

    private final Parallel parallel;

    CpuOptimizers(Parallel parallel) {
        this.parallel = parallel;
    }

    /**
     * Adam (Kingma and Ba, 2015), or AdamW (Loshchilov and Hutter, 2019) when decoupled, as
     * PyTorch writes it; param, grad, m, v are [n]:
     * <pre>
     *   g  = grad + wd·p            (L2, not decoupled)      p -= lr·wd·p   (decoupled)
     *   m  = β1·m + (1-β1)·g
     *   v  = β2·v + (1-β2)·g²
     *   p -= lr/(1-β1^t) · m / (sqrt(v/(1-β2^t)) + eps)
     * </pre>
     */
    void adamStep(float[] param, float[] grad, float[] m, float[] v, int n, float lr, float beta1, float beta2,
                  float eps, float weightDecay, boolean decoupledWeightDecay, int step) {
        float stepSize = (float) (lr / (1 - Math.pow(beta1, step)));
        float rootBiasCorrection2 = (float) Math.sqrt(1 - Math.pow(beta2, step));
        float l2 = decoupledWeightDecay ? 0f : weightDecay;
        float shrink = decoupledWeightDecay ? 1f - lr * weightDecay : 1f;
        float oneMinusBeta1 = 1f - beta1;
        float oneMinusBeta2 = 1f - beta2;
        parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                float p = param[i] * shrink;
                float g = grad[i] + l2 * p;
                float mi = beta1 * m[i] + oneMinusBeta1 * g;
                float vi = beta2 * v[i] + oneMinusBeta2 * g * g;
                m[i] = mi;
                v[i] = vi;
                param[i] = p - stepSize * mi / ((float) Math.sqrt(vi) / rootBiasCorrection2 + eps);
            }
        });
    }

    /**
     * SGD with momentum (Sutskever et al., 2013) as PyTorch writes it; param, grad, buf are [n]:
     * <pre>
     *   g   = grad + wd·p
     *   buf = first step ? g : μ·buf + (1-dampening)·g     (when μ != 0)
     *   g   = nesterov ? g + μ·buf : buf                    (when μ != 0)
     *   p  -= lr·g
     * </pre>
     */
    void sgdStep(float[] param, float[] grad, float[] momentumBuffer, int n, float lr, float momentum,
                 float dampening, boolean nesterov, float weightDecay, boolean firstStep) {
        if (momentum != 0f && momentumBuffer == null) {
            throw new IllegalArgumentException("sgdStep: momentum " + momentum + " needs a momentum buffer");
        }
        float keep = 1f - dampening;
        parallel.forRange(n, GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                float g = grad[i] + weightDecay * param[i];
                if (momentum != 0f) {
                    float b = firstStep ? g : momentum * momentumBuffer[i] + keep * g;
                    momentumBuffer[i] = b;
                    g = nesterov ? g + momentum * b : b;
                }
                param[i] -= lr * g;
            }
        });
    }
}
