package org.xformers4j.train;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Watches a {@link TrainingLoop} run, as DJL's {@code TrainingListener}: each method is called at one
 * moment of every step, in the order the listeners were given. A listener may stop the run
 * ({@link TrainingState#stop}) or throw to abort it. A listener with state that a resumed run
 * needs writes it into each checkpoint ({@link #checkpointState()}) and reads it back
 * ({@link #restore}); keys carry the listener's own prefix.
 */
public interface TrainingListener {

    /** A listener that hands each point of the learning curve to {@code points} and watches nothing else. */
    static TrainingListener ofPoints(Consumer<Point> points) {
        return new TrainingListener() {
            @Override
            public void onPoint(TrainingState state, Point point) {
                points.accept(point);
            }
        };
    }

    /** Once, before the first step (after a resumed run has restored its state). */
    default void onStart(TrainingState state) {
    }

    /** The loss value of each micro-batch of step {@code step}, before its backward pass. */
    default void onLoss(TrainingState state, long step, float loss) {
    }

    /** After the step's backward passes and gradient synchronisation, before clipping and the update. */
    default void onGradients(TrainingState state) {
    }

    /** After the update; {@link TrainingState#step()} counts it. */
    default void onUpdate(TrainingState state) {
    }

    /** A point of the learning curve, with the held-out evaluation when the task has one. */
    default void onPoint(TrainingState state, Point point) {
    }

    /** Once, after the last step, when the run ends normally (not when a listener or the step throws). */
    default void onEnd(TrainingState state) {
    }

    /** What this listener needs to continue identically after a resume, written into each checkpoint. */
    default Map<String, String> checkpointState() {
        return Map.of();
    }

    /**
     * Restores what {@link #checkpointState()} wrote, from the metadata of the checkpoint at
     * {@code checkpoint} (files beside it are this listener's to read).
     */
    default void restore(Map<String, String> metadata, Path checkpoint) {
    }
}
