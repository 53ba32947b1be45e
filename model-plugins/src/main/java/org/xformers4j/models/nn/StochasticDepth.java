package org.xformers4j.models.nn;

import java.util.Arrays;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.ReplayableRandom;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

/**
 * Stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth"), per sample as
 * torchvision's {@code StochasticDepth(p, "row")}: in training mode the whole residual branch of
 * each sample is dropped with probability p and the surviving branches are scaled by 1/(1-p), so
 * the expected output is the branch itself; in evaluation mode, or when p is 0, the branch is
 * returned unchanged. Applied to a branch before it is added to the residual stream, a dropped
 * branch leaves that sample's block the identity.
 *
 * <p>The layer owns its generator, seeded at construction, so a seed fixes the sequence of drops
 * (those of {@code new SplittableRandom(seed)}). Its state is the generator's ({@link
 * ReplayableState}), so a block recomputed under activation checkpointing drops the branches the
 * forward pass dropped.
 */
public final class StochasticDepth extends Module implements ReplayableState {

    private final float p;
    private final ReplayableRandom rng;

    /**
     * @param p    probability of dropping a sample's branch, in [0, 1)
     * @param seed seed of the layer's own generator
     */
    public StochasticDepth(float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("StochasticDepth: p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = new ReplayableRandom(seed);
    }

    /** A branch [batch, ...] with each sample's slice kept (scaled by 1/(1-p)) or zeroed. */
    public Tensor forward(Tensor branch) {
        if (p == 0f || !isTraining()) {
            return branch;
        }
        int batch = branch.size(0);
        float[] keep = new float[batch];
        float scale = 1f / (1f - p);
        for (int b = 0; b < batch; b++) {
            keep[b] = rng.nextFloat() < p ? 0f : scale;
        }
        int[] maskShape = new int[branch.dim()];                // [batch, 1, …, 1]
        Arrays.fill(maskShape, 1);
        maskShape[0] = batch;
        return branch.mul(Tensor.of(branch.backend(), keep, maskShape));
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
