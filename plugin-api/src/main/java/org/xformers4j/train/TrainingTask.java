package org.xformers4j.train;

import java.util.Map;
import org.xformers4j.tensor.Tensor;

/**
 * What a {@link TrainingLoop} trains: the batches, the held-out evaluation and what identifies the
 * run in its checkpoints. A trainer implements it; the loop owns the step.
 *
 * <p>A step's batch is a function of the step number alone (and of the part, when the loop splits
 * it into micro-batches), never of earlier calls: a run resumed from a checkpoint then draws the
 * batches an uninterrupted run would have drawn, and a data-parallel worker can draw its shard of
 * any step.
 */
public interface TrainingTask {

    /**
     * One micro-batch's loss.
     *
     * @param loss  the mean loss over the batch's items (tokens, examples), a scalar with a graph
     * @param count the number of items the mean is over, > 0: the weight of this part in the step, and the throughput
     */
    record Batch(Tensor loss, long count) {
        public Batch {
            if (loss == null || count <= 0) {
                throw new IllegalArgumentException("Batch: loss must not be null and count must be > 0, got " + count);
            }
        }
    }

    /**
     * Part {@code part} (0-based) of the {@code parts} micro-batches of step {@code step} (1-based). The
     * parts together are the step's batch; with one part it is the whole batch. A function of its
     * arguments alone; null for an empty part (a batch, such as the last of an epoch, with fewer items
     * than parts).
     */
    Batch batch(long step, int part, int parts);

    /**
     * The held-out evaluation, which the loop runs in evaluation mode without a graph; null when the
     * task has no held-out data.
     */
    Evaluation evaluate();

    /** What must match when resuming: the architecture, data and settings that shape the run. */
    Map<String, String> identity();

    /**
     * The steps of one pass over the training data, for progress reports ({@link TrainingState#stepsPerEpoch()});
     * 0, the default, when the task does not go in epochs (windows drawn at random offsets).
     */
    default long stepsPerEpoch() {
        return 0;
    }

    /** Whether training batches draw dropout masks, which a resumed run replays; none by default. */
    default boolean usesDropout() {
        return false;
    }
}
