package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.xformers4j.io.Checkpoint;

/** Checkpoints and resume: an interrupted run resumed from its checkpoint ends where an uninterrupted one does. */
class ResumeTest {

    private static final Optimization ADAMW = Optimization.builder().learningRate(0.02f)
            .schedule(Optimization.Schedule.WARMUP_COSINE).warmupSteps(3).gradientClip(1f).build();

    /** Thrown by a listener to simulate a crash after a given step's update. */
    private static final class Crash extends RuntimeException {
    }

    private static TrainingListener crashAfter(long step) {
        return new TrainingListener() {
            @Override
            public void onUpdate(TrainingState state) {
                if (state.step() == step) {
                    throw new Crash();
                }
            }
        };
    }

    @ParameterizedTest(name = "dropout {0}, accumulation {1}, patience {2}")
    @CsvSource({"0, 1, 0", "0.3, 1, 0", "0.3, 2, 0", "0.3, 1, 2"})
    void aResumedRunEndsWithTheWeightsAndCurveOfAnUninterruptedOne(float dropout, int accumulation, int patience,
                                                                      @TempDir Path dir) {
        RunSettings.Builder settings = RunSettings.builder().batchSize(8).gradientAccumulation(accumulation)
                .patience(patience);
        Regression straight = new Regression(dropout);
        TrainingLoop.Outcome expected = new TrainingLoop(ADAMW, settings.build(), 20, 3).run(straight.net, straight);

        Regression first = new Regression(dropout);
        RunSettings checkpointed = settings.checkpointDirectory(dir.toString()).checkpointEvery(4).build();
        assertThatThrownBy(() -> new TrainingLoop(ADAMW, checkpointed, 20, 3).addListener(crashAfter(8))
                .run(first.net, first)).isInstanceOf(Crash.class);
        Path checkpoint = dir.resolve(TrainingLoop.CHECKPOINT_FILE);

        Regression resumed = new Regression(dropout);
        RunSettings resuming = settings.checkpointDirectory("").resumeFrom(checkpoint.toString()).build();
        TrainingLoop.Outcome outcome = new TrainingLoop(ADAMW, resuming, 20, 3).run(resumed.net, resumed);

        straight.weights().forEach((name, want) -> assertArrayEquals(want, resumed.weights().get(name), name));
        List<Point> tail = expected.curve().subList(expected.curve().size() - outcome.curve().size(),
                expected.curve().size());
        for (int i = 0; i < tail.size(); i++) {
            assertEquals(tail.get(i).step(), outcome.curve().get(i).step());
            assertEquals(tail.get(i).trainLoss(), outcome.curve().get(i).trainLoss(), "point " + i);
            assertEquals(tail.get(i).evaluation(), outcome.curve().get(i).evaluation(), "point " + i);
        }
    }

    @Test
    void aDueCheckpointIsWrittenOnceTheNextStepProvesItsWeightsAndAtTheEnd(@TempDir Path dir) throws Exception {
        Regression task = new Regression(0f);
        RunSettings settings = RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString())
                .checkpointEvery(4).build();
        Path file = dir.resolve(TrainingLoop.CHECKPOINT_FILE);
        long[] seen = new long[11];
        new TrainingLoop(ADAMW, settings, 10, 10).addListener(new TrainingListener() {
            @Override
            public void onUpdate(TrainingState state) {
                seen[(int) state.step()] = Files.exists(file) ? loadStep(file) : -1;
            }
        }).run(task.net, task);
        assertEquals(-1, seen[4], "step 4's checkpoint waits for step 5's gradients");
        assertEquals(4, seen[5]);
        assertEquals(4, seen[8]);
        assertEquals(8, seen[9]);
        assertEquals(10, loadStep(file), "the end of the run is written");
    }

    private static long loadStep(Path file) {
        try {
            return Checkpoint.load(file).step();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aCheckpointOfAnotherTaskIsRefusedNamingTheDifference(@TempDir Path dir) {
        Regression task = new Regression(0f);
        new TrainingLoop(ADAMW, RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString()).build(), 4, 4)
                .run(task.net, task);
        Regression other = new Regression(0f) {
            @Override
            public Map<String, String> identity() {
                return Map.of("task", "classification");
            }
        };
        RunSettings resuming = RunSettings.builder().batchSize(8)
                .resumeFrom(dir.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).build();
        assertThatThrownBy(() -> new TrainingLoop(ADAMW, resuming, 8, 4).run(other.net, other))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("was written with task = regression but this run has task = classification");
    }

    @Test
    void aCheckpointAtOrPastTheLastStepIsRefused(@TempDir Path dir) {
        Regression task = new Regression(0f);
        new TrainingLoop(ADAMW, RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString()).build(), 6, 3)
                .run(task.net, task);
        RunSettings resuming = RunSettings.builder().batchSize(8)
                .resumeFrom(dir.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).build();
        Regression again = new Regression(0f);
        assertThatThrownBy(() -> new TrainingLoop(ADAMW, resuming, 6, 3).run(again.net, again))
                .hasMessageContaining("is at step 6, not before the last step 6");
    }

    @Test
    void aMissingOrCorruptCheckpointIsRefusedNamingIt(@TempDir Path dir) throws Exception {
        Regression task = new Regression(0f);
        Path missing = dir.resolve("nothing.x4j");
        assertThatThrownBy(() -> new TrainingLoop(ADAMW, RunSettings.builder().batchSize(8)
                .resumeFrom(missing.toString()).build(), 4, 4).run(task.net, task))
                .hasMessageContaining(missing + ": no such file");
        Path corrupt = dir.resolve("corrupt.x4j");
        Files.write(corrupt, new byte[] {'X', '4', 'J', 1, 2, 3});
        assertThatThrownBy(() -> new TrainingLoop(ADAMW, RunSettings.builder().batchSize(8)
                .resumeFrom(corrupt.toString()).build(), 4, 4).run(task.net, task))
                .hasMessageContaining(corrupt.toString());
        assertThat(task.batches).isZero();
    }
}
