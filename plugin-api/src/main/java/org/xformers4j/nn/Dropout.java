package org.xformers4j.nn;

import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.ReplayableRandom;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

/**
 * Inverted dropout (Srivastava et al., 2014, "Dropout: A Simple Way to Prevent Neural Networks from
 * Overfitting"): in training mode each element is zeroed with probability p and the rest scaled by
 * 1/(1-p); in evaluation mode, or when p is 0, the input is returned unchanged.
 *
 * <p>The layer owns its generator, seeded at construction, so a seed fixes the sequence of masks
 * (those of {@code new SplittableRandom(seed)}). Its state is the generator's ({@link
 * ReplayableState}), so a recomputation under {@link org.xformers4j.tensor.ActivationCheckpoint}
 * draws the masks of the forward pass again.
 */
public final class Dropout extends Module implements ReplayableState {

    private final float p;
    private final ReplayableRandom rng;

    /**
     * @param p    probability of zeroing an element, in [0, 1)
     * @param seed seed of the layer's own generator
     */
    public Dropout(float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = new ReplayableRandom(seed);
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

    @Override
    public Object saveState() {
        return rng.saveState();
    }

    @Override
    public void restoreState(Object state) {
        rng.restoreState(state);
    }
}
