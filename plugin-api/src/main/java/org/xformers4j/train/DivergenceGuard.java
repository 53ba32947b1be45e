package org.xformers4j.train;

import java.util.Map;
import java.util.Optional;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.tensor.Tensor;

/**
 * Stops a diverged run at the first NaN or infinity: in a micro-batch's loss (before its backward
 * pass), in a gradient (after the backward passes and synchronisation, before clipping and the
 * update, so no update and no checkpoint ever comes from non-finite gradients), in a parameter after
 * the update, and in a held-out loss. The error names what is not finite, the step, the usual
 * remedies and the last good checkpoint, which resumes.
 */
public final class DivergenceGuard implements TrainingListener {

    private final float learningRate;
    private Map<String, Tensor> parameters;

    /** A guard whose errors suggest lowering {@code learningRate}, the run's peak. */
    public DivergenceGuard(float learningRate) {
        this.learningRate = learningRate;
    }

    @Override
    public void onStart(TrainingState state) {
        parameters = state.network().namedParameters();
    }

    @Override
    public void onLoss(TrainingState state, long step, float loss) {
        if (!Float.isFinite(loss)) {
            throw diverged(state, "training loss is " + loss, step);
        }
    }

    @Override
    public void onGradients(TrainingState state) {
        Optional<String> bad = NonFinite.gradient(parameters);
        if (bad.isPresent()) {
            throw diverged(state, "the gradient of parameter '" + bad.get() + "' holds NaN or infinite values",
                    state.step() + 1);
        }
    }

    @Override
    public void onUpdate(TrainingState state) {
        Optional<String> bad = NonFinite.value(parameters);
        if (bad.isPresent()) {
            throw diverged(state, "parameter '" + bad.get() + "' holds NaN or infinite values after the update",
                    state.step());
        }
    }

    @Override
    public void onPoint(TrainingState state, Point point) {
        if (point.evaluation() != null && !Double.isFinite(point.evaluation().loss())) {
            throw diverged(state, "the held-out loss is " + point.evaluation().loss(), point.step());
        }
    }

    /** The exception that stops a diverged run: what is not finite, at which step, and where to resume from. */
    IllegalStateException diverged(TrainingState state, String what, long step) {
        return new IllegalStateException(what + " at step " + step + "; lower learningRate (" + learningRate
                + "), set gradientClip or check the data" + state.lastCheckpoint()
                .map(path -> "; the last good checkpoint, of step " + state.lastCheckpointStep() + ", is " + path)
                .orElse("; no checkpoint was written"));
    }
}
