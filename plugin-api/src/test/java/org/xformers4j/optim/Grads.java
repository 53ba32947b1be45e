package org.xformers4j.optim;

import java.util.SplittableRandom;
import org.xformers4j.tensor.Tensor;

/** Test helpers that give parameters exact gradients through a real backward pass. */
final class Grads {

    private Grads() {
    }

    /** Replaces the gradient of {@code p} by {@code g} (row-major), as the backward of Σ p·g. */
    static void set(Tensor p, float[] g) {
        p.zeroGrad();
        p.reshape(-1).matmul(Tensor.of(p.backend(), g, g.length)).backward();
    }

    static float[] random(SplittableRandom rng, int n, double scale) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (scale * rng.nextGaussian());
        }
        return g;
    }

    static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }
}
