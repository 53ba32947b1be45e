package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.io.Checkpoint;

/** Early stopping stops after patience evaluations without improvement and restores the best weights. */
class EarlyStoppingTest {

    private static final Optimization ADAMW = Optimization.builder().learningRate(0.02f).build();

    /** The regression task with scripted held-out losses, one per evaluation. */
    private static Regression scripted(double... losses) {
        return new Regression(0f) {
            private int evaluations;

            @Override
            public Evaluation evaluate() {
                return Evaluation.ofLoss(losses[evaluations++]);
            }
        };
    }

    @Test
    void stopsAfterPatienceEvaluationsWithoutImprovementAndRestoresTheBestWeights(@TempDir Path dir)
            throws Exception {
        Regression task = scripted(3, 2, 2.5, 4, 1);
        Map<Long, Map<String, float[]>> weightsAt = new HashMap<>();
        RunSettings settings = RunSettings.builder().batchSize(8).patience(2).checkpointDirectory(dir.toString())
                .build();
        TrainingLoop.Outcome outcome = new TrainingLoop(ADAMW, settings, 50, 2).addListener(new TrainingListener() {
            @Override
            public void onUpdate(TrainingState state) {
                weightsAt.put(state.step(), task.weights());
            }
        }).run(task.net, task);
        assertThat(outcome.steps()).as("stopped at the fourth evaluation").isEqualTo(8);
        assertThat(outcome.stopReason()).contains("early stopping: no better held-out loss in 2 evaluations")
                .contains("at step 4");
        weightsAt.get(4L).forEach((name, want) -> assertArrayEquals(want, task.weights().get(name), name));
        assertThat(Checkpoint.load(dir.resolve(EarlyStopping.BEST_FILE)).step()).isEqualTo(4);
        assertThat(Checkpoint.load(dir.resolve(TrainingLoop.CHECKPOINT_FILE)).step())
                .as("the checkpoint holds the last weights, not the best").isEqualTo(8);
    }

    @Test
    void withoutPatienceTheRunGoesOnAndKeepsItsLastWeights() {
        Regression task = scripted(3, 2, 2.5, 4, 5);
        TrainingLoop.Outcome outcome = new TrainingLoop(ADAMW, RunSettings.builder().batchSize(8).build(), 10, 2)
                .run(task.net, task);
        assertThat(outcome.steps()).isEqualTo(10);
        assertThat(outcome.stopReason()).isNull();
    }
}
