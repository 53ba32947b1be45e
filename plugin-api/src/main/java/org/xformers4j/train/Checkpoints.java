package org.xformers4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.xformers4j.io.Checkpoint;

/**
 * A run's atomic checkpoints and its resume, for {@link TrainingLoop}. A checkpoint ({@link Checkpoint},
 * written to a temporary file and moved into place) holds the weights, the optimiser's state, the
 * step, the task's identity and the state of the loop and its listeners.
 *
 * <p>A checkpoint that falls due after step s is written only once step s + 1 has computed a finite
 * loss and finite gradients from its weights, just before step s + 1's update (so it holds exactly
 * the state after step s): finite but huge weights can still give a NaN loss at once, and the
 * checkpoint a diverged run names must resume. The run's last state is written when it ends.
 */
final class Checkpoints {

    private final Path file;
    private final int every;
    private final Path resumeFrom;
    private boolean due;

    /**
     * @param directory where {@value TrainingLoop#CHECKPOINT_FILE} is written (created if missing), or null for none
     * @param every     steps between checkpoints
     * @param resumeFrom a checkpoint to resume from, or null
     */
    Checkpoints(Path directory, int every, Path resumeFrom) {
        this.file = directory == null ? null : createDirectory(directory).resolve(TrainingLoop.CHECKPOINT_FILE);
        this.every = every;
        this.resumeFrom = resumeFrom;
    }

    /**
     * Restores the checkpoint to resume from, if any, after checking it belongs to {@code task} and
     * lies before {@code totalSteps}: the weights and optimiser state, then each state holder's entries.
     */
    void resume(TrainingState state, TrainingTask task, List<? extends TrainingListener> holders) {
        if (resumeFrom == null) {
            return;
        }
        if (!Files.isRegularFile(resumeFrom)) {
            throw new IllegalArgumentException("resumeFrom = " + resumeFrom + ": no such file");
        }
        Checkpoint checkpoint;
        try {
            checkpoint = Checkpoint.load(resumeFrom);
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoint resumeFrom = " + resumeFrom + " failed: "
                    + e.getMessage(), e);
        }
        task.identity().forEach((key, expected) -> {
            String found = checkpoint.metadata().get(key);
            if (!expected.equals(found)) {
                throw new IllegalArgumentException("resumeFrom = " + resumeFrom + " was written with " + key + " = "
                        + found + " but this run has " + key + " = " + expected
                        + "; resume with the same configuration and data");
            }
        });
        if (checkpoint.step() >= state.totalSteps()) {
            throw new IllegalArgumentException("resumeFrom = " + resumeFrom + " is at step " + checkpoint.step()
                    + ", not before the last step " + state.totalSteps() + "; raise the number of steps to train further");
        }
        try {
            checkpoint.restore(state.network(), state.optimizer());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("resumeFrom = " + resumeFrom + " does not match this architecture: "
                    + e.getMessage(), e);
        }
        for (TrainingListener holder : holders) {
            holder.restore(checkpoint.metadata(), resumeFrom);
        }
        state.resumedAt(checkpoint.step(), resumeFrom);
    }

    /** After the update of {@code step}: whether a checkpoint falls due. */
    void stepTaken(long step) {
        due |= file != null && step % every == 0;
    }

    /** Before the next update, the weights having given a finite loss and gradients: writes a due checkpoint. */
    void writeIfDue(TrainingState state, TrainingTask task, List<? extends TrainingListener> holders,
                    DivergenceGuard guard) {
        if (due) {
            write(state, task, holders, guard);
        }
    }

    /** Writes the current state now (when checkpointing), e.g. at the end of the run or on a listener's request. */
    void write(TrainingState state, TrainingTask task, List<? extends TrainingListener> holders,
               DivergenceGuard guard) {
        if (file == null || state.lastCheckpointStep() == state.step() && file.equals(state.lastCheckpoint().orElse(null))) {
            due = false;
            return;
        }
        Map<String, String> metadata = new TreeMap<>(task.identity());
        for (TrainingListener holder : holders) {
            metadata.putAll(holder.checkpointState());
        }
        try {
            Checkpoint.save(file, state.network(), state.optimizer(), state.step(), 0, metadata);
        } catch (IOException e) {
            throw new UncheckedIOException("writing checkpoint " + file + " failed: " + e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw guard.diverged(state, "the state could not be checkpointed (" + e.getMessage() + ")", state.step());
        }
        state.checkpointWritten(file, state.step());
        due = false;
    }

    private static Path createDirectory(Path directory) {
        try {
            return Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("checkpointDirectory = " + directory + " cannot be created: " + e, e);
        }
    }
}
