package org.xformers4j.optim;

/**
 * A learning rate as a function of the step number t = 1, 2, … of the update about to be made
 * (the t of Adam's bias correction and the step_num of Vaswani et al.). Apply one before each
 * step with {@link #applyTo(Optimizer)}:
 * <pre>{@code
 * LearningRateSchedule schedule = LearningRateSchedule.cosineDecay(3e-4, 3e-5, 100, 10_000);
 * for (...) {
 *     loss.backward();
 *     schedule.applyTo(optimizer);
 *     optimizer.step();
 *     optimizer.zeroGrad();
 * }
 * }</pre>
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /** The learning rate for step {@code step} (1-based). */
    double rate(int step);

    /** Sets the optimiser's learning rate for its next step, number {@code stepCount() + 1}. */
    default void applyTo(Optimizer optimizer) {
        optimizer.setLearningRate((float) rate(optimizer.stepCount() + 1));
    }

    /** The same rate at every step. */
    static LearningRateSchedule constant(double rate) {
        checkRate("constant", "rate", rate);
        return step -> rate;
    }

    /** Linear warm-up from rate/warmupSteps at step 1 to {@code rate} at step warmupSteps, then constant. */
    static LearningRateSchedule linearWarmup(double rate, int warmupSteps) {
        return linearWarmup(warmupSteps, constant(rate));
    }

    /**
     * Linear warm-up to {@code then}'s first rate over {@code warmupSteps} steps (step t ≤ warmupSteps
     * gets then.rate(1)·t/warmupSteps), followed by {@code then} restarted at its step 1.
     */
    static LearningRateSchedule linearWarmup(int warmupSteps, LearningRateSchedule then) {
        checkSteps("linearWarmup", "warmupSteps", warmupSteps, true);
        if (then == null) {
            throw new IllegalArgumentException("linearWarmup: the schedule after warm-up must not be null");
        }
        return step -> step <= warmupSteps ? then.rate(1) * step / warmupSteps : then.rate(step - warmupSteps);
    }

    /**
     * Cosine annealing (Loshchilov and Hutter, 2017, "SGDR: Stochastic Gradient Descent with Warm
     * Restarts"), without restarts, as PyTorch's {@code CosineAnnealingLR}: step t gets
     * min + (peak - min)·(1 + cos(π·min(t - 1, decaySteps)/decaySteps))/2, so step 1 gets
     * {@code peak} and every step from decaySteps + 1 gets {@code min}.
     */
    static LearningRateSchedule cosineDecay(double peak, double min, int decaySteps) {
        checkRate("cosineDecay", "peak", peak);
        if (!(min >= 0 && min <= peak)) {
            throw new IllegalArgumentException("cosineDecay: min must be in [0, peak = " + peak + "], got " + min);
        }
        checkSteps("cosineDecay", "decaySteps", decaySteps, true);
        return step -> {
            double progress = Math.min(step - 1, decaySteps) / (double) decaySteps;
            return min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }

    /** {@link #cosineDecay(double, double, int)} after a linear warm-up of {@code warmupSteps} steps (none if 0). */
    static LearningRateSchedule cosineDecay(double peak, double min, int warmupSteps, int decaySteps) {
        checkSteps("cosineDecay", "warmupSteps", warmupSteps, false);
        LearningRateSchedule decay = cosineDecay(peak, min, decaySteps);
        return warmupSteps == 0 ? decay : linearWarmup(warmupSteps, decay);
    }

    /**
     * Linear decay from {@code peak} at step 1 to {@code min} at step decaySteps + 1 and after, as
     * PyTorch's {@code LinearLR} (the BERT and Hugging Face default, Devlin et al., 2019), after a
     * linear warm-up of {@code warmupSteps} steps (none if 0).
     */
    static LearningRateSchedule linearDecay(double peak, double min, int warmupSteps, int decaySteps) {
        checkRate("linearDecay", "peak", peak);
        if (!(min >= 0 && min <= peak)) {
            throw new IllegalArgumentException("linearDecay: min must be in [0, peak = " + peak + "], got " + min);
        }
        checkSteps("linearDecay", "warmupSteps", warmupSteps, false);
        checkSteps("linearDecay", "decaySteps", decaySteps, true);
        LearningRateSchedule decay = step -> peak + (min - peak) * Math.min(step - 1, decaySteps) / decaySteps;
        return warmupSteps == 0 ? decay : linearWarmup(warmupSteps, decay);
    }

    /**
     * Linear warm-up then decay with the inverse square root of the step (Vaswani et al., 2017,
     * "Attention Is All You Need", §5.3), scaled to peak at {@code peak} at step warmupSteps:
     * peak · min(sqrt(warmupSteps / t), t / warmupSteps).
     */
    static LearningRateSchedule inverseSquareRoot(double peak, int warmupSteps) {
        checkRate("inverseSquareRoot", "peak", peak);
        checkSteps("inverseSquareRoot", "warmupSteps", warmupSteps, true);
        return step -> peak * Math.min(Math.sqrt(warmupSteps / (double) step), step / (double) warmupSteps);
    }

    /**
     * The schedule of Vaswani et al. (2017, §5.3) as written there:
     * modelDim^-0.5 · min(t^-0.5, t · warmupSteps^-1.5), which is
     * {@link #inverseSquareRoot(double, int)} with peak (modelDim · warmupSteps)^-0.5.
     */
    static LearningRateSchedule vaswani(int modelDim, int warmupSteps) {
        checkSteps("vaswani", "modelDim", modelDim, true);
        checkSteps("vaswani", "warmupSteps", warmupSteps, true);
        return inverseSquareRoot(1 / Math.sqrt((double) modelDim * warmupSteps), warmupSteps);
    }

    private static void checkRate(String schedule, String name, double rate) {
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException(schedule + ": " + name + " must be finite and > 0, got " + rate);
        }
    }

    private static void checkSteps(String schedule, String name, int steps, boolean positive) {
        if (positive ? steps <= 0 : steps < 0) {
            throw new IllegalArgumentException(schedule + ": " + name + " must be " + (positive ? "> 0" : ">= 0")
                    + ", got " + steps);
        }
    }
}
