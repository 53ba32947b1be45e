package org.xformers4j.train;

/**
 * Stops a run once its training time (evaluations and checkpoints excluded) reaches a budget; the
 * run still ends with its last point and checkpoint, so it resumes.
 */
public final class TimeBudget implements TrainingListener {

    private final double seconds;

    /** A budget of {@code seconds} > 0. */
    public TimeBudget(double seconds) {
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("TimeBudget: seconds must be finite and > 0, got " + seconds);
        }
        this.seconds = seconds;
    }

    @Override
    public void onUpdate(TrainingState state) {
        if (state.trainingSeconds() >= seconds) {
            state.stop(String.format("the time budget of %.1f minutes is spent", seconds / 60));
        }
    }
}
