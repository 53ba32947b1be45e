package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.tensor.Tensor;

/** The non-finite guard stops at the first NaN or infinity and names the last good checkpoint, which resumes. */
class DivergenceGuardTest {

    private static final Optimization SGD = Optimization.builder().algorithm(Optimization.Algorithm.SGD)
            .learningRate(0.05f).weightDecay(0f).schedule(Optimization.Schedule.CONSTANT).build();

    /** The regression task whose loss is NaN from step {@code from} on. */
    private static Regression nanLossFrom(long from) {
        return new Regression(0f) {
            @Override
            public Batch batch(long step, int part, int parts) {
                Batch batch = super.batch(step, part, parts);
                return step < from ? batch : new Batch(batch.loss().mul(Float.NaN), batch.count());
            }
        };
    }

    @Test
    void aNonFiniteLossStopsBeforeItsBackwardAndTheUnprovenCheckpointIsNotWritten(@TempDir Path dir) throws Exception {
        Regression task = nanLossFrom(5);
        RunSettings settings = RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString())
                .checkpointEvery(2).build();
        Path file = dir.resolve(TrainingLoop.CHECKPOINT_FILE);
        assertThatThrownBy(() -> new TrainingLoop(SGD, settings, 10, 10).run(task.net, task))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("training loss is NaN at step 5")
                .hasMessageContaining("lower learningRate (0.05)")
                .hasMessageContaining("the last good checkpoint, of step 2, is " + file);
        assertThat(Checkpoint.load(file).step())
                .as("step 4's weights gave a NaN loss, so its checkpoint was never written").isEqualTo(2);
    }

    @Test
    void theNamedCheckpointResumes(@TempDir Path dir) {
        Regression diverging = nanLossFrom(5);
        RunSettings settings = RunSettings.builder().batchSize(8).checkpointDirectory(dir.toString())
                .checkpointEvery(2).build();
        assertThatThrownBy(() -> new TrainingLoop(SGD, settings, 10, 10).run(diverging.net, diverging));
        Regression healthy = new Regression(0f);
        RunSettings resuming = RunSettings.builder().batchSize(8)
                .resumeFrom(dir.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).build();
        assertThat(new TrainingLoop(SGD, resuming, 10, 10).run(healthy.net, healthy).steps()).isEqualTo(10);
    }

    @Test
    void aNonFiniteGradientStopsBeforeTheUpdate() {
        Regression task = new Regression(0f);
        Map<String, float[]> before = task.weights();
        long[] updates = {0};
        TrainingLoop loop = new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 5, 5)
                .gradientSync((parameters, step) -> {
                    if (step == 3) {
                        Tensor g = parameters.get(1).grad();
                        float[] poisoned = g.toFloatArray();
                        poisoned[0] = Float.POSITIVE_INFINITY;
                        g.copyFrom(poisoned);
                    }
                })
                .addListener(new TrainingListener() {
                    @Override
                    public void onUpdate(TrainingState state) {
                        updates[0]++;
                    }
                });
        assertThatThrownBy(() -> loop.run(task.net, task))
                .hasMessageContaining("the gradient of parameter 'first.bias' holds NaN or infinite values at step 3")
                .hasMessageContaining("no checkpoint was written");
        assertThat(updates[0]).isEqualTo(2);
        assertThat(before.get("first.bias")).isNotEqualTo(task.weights().get("first.bias"));
    }

    @Test
    void aParameterThatOverflowsInTheUpdateStopsTheRun() {
        Optimization huge = Optimization.builder().algorithm(Optimization.Algorithm.SGD).learningRate(10f)
                .weightDecay(0f).schedule(Optimization.Schedule.CONSTANT).build();
        Regression task = new Regression(0f);
        TrainingLoop loop = new TrainingLoop(huge, RunSettings.builder().batchSize(8).build(), 5, 5)
                .gradientSync((parameters, step) -> parameters.get(0).grad().copyFrom(
                        filled(parameters.get(0).numel(), 1e38f)));
        assertThatThrownBy(() -> loop.run(task.net, task))
                .hasMessageContaining("parameter 'first.weight' holds NaN or infinite values after the update at step 1");
    }

    @Test
    void aNonFiniteHeldOutLossStopsTheRun() {
        Regression task = new Regression(0f) {
            @Override
            public Evaluation evaluate() {
                return Evaluation.ofLoss(Double.POSITIVE_INFINITY);
            }
        };
        assertThatThrownBy(() -> new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 4, 2)
                .run(task.net, task)).hasMessageContaining("the held-out loss is Infinity at step 2");
    }

    private static float[] filled(int n, float value) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, value);
        return out;
    }

    @Test
    void withoutNonFiniteValuesNothingIsStopped() {
        Regression task = new Regression(0f);
        Map<String, float[]> before = task.weights();
        new TrainingLoop(SGD, RunSettings.builder().batchSize(8).build(), 2, 2).run(task.net, task);
        assertThat(task.weights().get("second.bias")).isNotEqualTo(before.get("second.bias"));
        assertArrayEquals(before.get("second.bias").clone(), before.get("second.bias"));
    }
}
