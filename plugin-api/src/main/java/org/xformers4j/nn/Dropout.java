package org.xformers4j.nn;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Inverted dropout (Srivastava et al., 2014, "Dropout: A Simple Way to Prevent Neural Networks from
 * Overfitting"): in training mode each element is zeroed with probability p and the rest scaled by
 * 1/(1-p); in evaluation mode, or when p is 0, the input is returned unchanged.
 *
 * <p>The layer owns its generator, seeded at construction, so a seed fixes the sequence of masks.
 */
public final class Dropout extends Module {

    private final float p;
    private final RandomGenerator rng;

    /**
     * @param p    probability of zeroing an element, in [0, 1)
     * @param seed seed of the layer's own generator
     */
    public Dropout(float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = new SplittableRandom(seed);
    }

    public Tensor forward(Tensor x) {
        if (p == 0f || !isTraining()) {
            return x;
        }
        return Functional.dropout(x, p, true, rng);
    }

    /** The drop probability. */
    public float p() {
        return p;
    }
}
