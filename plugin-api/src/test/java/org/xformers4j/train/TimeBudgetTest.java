package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The time budget counts training time only, from the state's clock (no test depends on the machine's speed). */
class TimeBudgetTest {

    @Test
    void stopsOnceTheTrainingTimeReachesTheBudget() {
        TrainingState state = new TrainingState(new Regression(0f).net, null, 10, 0, null);
        TimeBudget budget = new TimeBudget(90);
        state.addTrainingTime(89_000_000_000L);
        budget.onUpdate(state);
        assertThat(state.stopReason()).isEmpty();
        state.addTrainingTime(1_000_000_000L);
        budget.onUpdate(state);
        assertThat(state.stopReason()).contains("the time budget of 1.5 minutes is spent");
    }

    @Test
    void aRunStoppedByItsBudgetEndsWithAPointAndACheckpoint(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Regression task = new Regression(0f);
        RunSettings settings = RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString()).build();
        TrainingLoop.Outcome outcome = new TrainingLoop(Optimization.builder().build(), settings, 100, 50)
                .addListener(new TrainingListener() {
                    @Override
                    public void onUpdate(TrainingState state) {
                        if (state.step() == 7) {
                            state.stop("the time budget of 0.1 minutes is spent");
                        }
                    }
                }).run(task.net, task);
        assertThat(outcome.steps()).isEqualTo(7);
        assertThat(outcome.last().step()).isEqualTo(7);
        assertThat(outcome.last().evaluation()).isNotNull();
        assertThat(org.xformers4j.io.Checkpoint.load(dir.resolve(TrainingLoop.CHECKPOINT_FILE)).step()).isEqualTo(7);
    }

    @Test
    void aBudgetMustBePositive() {
        assertThatThrownBy(() -> new TimeBudget(0)).hasMessageContaining("seconds must be finite and > 0");
    }
}
