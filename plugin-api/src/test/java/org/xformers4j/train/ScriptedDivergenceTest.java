package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.tensor.Tensor;

/**
 * The divergence guard of the {@link TrainingLoop} on scripted losses whose step of failure is known:
 * a non-finite gradient under a finite loss and an optimiser state that overflows under finite
 * weights both stop the run before any checkpoint holds them, naming the last good one, which
 * resumes.
 */
class ScriptedDivergenceTest {

    @TempDir
    Path dir;

    /** w [2] pulled towards 2; z [1] = 0 takes part only in the scripted failures. */
    private static final class Weights extends Module {
        final Tensor w = registerParameter("w", Tensor.ones(2));
        final Tensor z = registerParameter("z", Tensor.zeros(1));

        Tensor pull() {
            return w.sub(2f).pow(2f).sum();
        }
    }

    /** A task whose batch of each step is {@code loss(weights, step)}. */
    private static TrainingTask task(Weights weights, BiFunction<Weights, Long, Tensor> loss) {
        return new TrainingTask() {
            @Override
            public Batch batch(long step, int part, int parts) {
                return new Batch(loss.apply(weights, step), 1);
            }

            @Override
            public Evaluation evaluate() {
                return Evaluation.ofLoss(weights.pull().item());
            }

            @Override
            public Map<String, String> identity() {
                return Map.of("task", "scripted");
            }
        };
    }

    /** A loop of {@code steps} AdamW steps at {@code learningRate}, checkpointing every {@code every} steps. */
    private static TrainingLoop loop(int steps, float learningRate, Path directory, int every, Path resumeFrom) {
        Optimization adamw = Optimization.builder().learningRate(learningRate).betas(0.9f, 0.95f).weightDecay(0f)
                .finalLearningRateFraction(0.1f).build();
        RunSettings run = RunSettings.builder().batchSize(1).checkpointDirectory(directory == null ? ""
                : directory.toString()).checkpointEvery(every).resumeFrom(resumeFrom == null ? ""
                : resumeFrom.toString()).build();
        return new TrainingLoop(adamw, run, steps, 1);
    }

    private Path checkpoint() {
        return dir.resolve(TrainingLoop.CHECKPOINT_FILE);
    }

    @Test
    void aNonFiniteGradientUnderAFiniteLossStopsBeforeTheUpdateAndNamesTheLastGoodCheckpoint() throws IOException {
        Weights weights = new Weights();
        // at step 3, d sqrt(z)/dz at z = 0 is infinite while the loss, sqrt(0) = 0, is finite
        TrainingTask task = task(weights, (m, step) -> step == 3 ? m.pull().add(m.z.sqrt().sum()) : m.pull());

        assertThatThrownBy(() -> loop(6, 0.1f, dir, 1, null).run(weights, task))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the gradient of parameter 'z' holds NaN or infinite values at step 3; lower learningRate "
                                + "(0.1), set gradientClip or check the data; the last good checkpoint, of step 1, is "
                        + checkpoint());

        assertThat(NonFinite.value(weights.namedParameters())).as("the update was not applied").isEmpty();
        Checkpoint saved = Checkpoint.load(checkpoint());
        // step 2's checkpoint was due, but is written only once step 3's loss and gradients are finite
        assertThat(saved.step()).isEqualTo(1);
        Weights resumed = new Weights();
        loop(6, 0.1f, dir, 1, checkpoint()).run(resumed, task(resumed, (m, step) -> m.pull()));
        assertThat(resumed.pull().item()).isLessThan(new Weights().pull().item());
    }

    @Test
    void anOptimizerStateThatOverflowsIsNeverCheckpointed() throws IOException {
        Weights weights = new Weights();
        // at step 2 the gradient of w is 1e24: finite, but AdamW's second moment, 0.05 · 1e48, is not
        TrainingTask task = task(weights, (m, step) -> step == 2 ? m.w.mul(1e24f).sum() : m.pull());

        assertThatThrownBy(() -> loop(6, 0.1f, dir, 1, null).run(weights, task))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("the state could not be checkpointed (Checkpoint.save: refusing to write "
                        + checkpoint() + ": optimizer buffer 'exp_avg_sq' of parameter 'w' holds NaN or infinite values")
                .hasMessageEndingWith("at step 2; lower learningRate (0.1), set gradientClip or check the data; the last "
                        + "good checkpoint, of step 1, is " + checkpoint());

        assertThat(Checkpoint.load(checkpoint()).step()).isEqualTo(1);
    }

    @Test
    void finiteButHugeWeightsAreNotCheckpointedBeforeALossHasVouchedForThem() throws IOException {
        Weights weights = new Weights();
        TrainingTask sane = task(weights, (m, step) -> m.pull());
        loop(6, 0.1f, dir, 3, null).run(weights, sane);
        byte[] good = Files.readAllBytes(checkpoint());

        // resumed from step 6 with a learning rate of 1e30: step 7 moves w to about 1e30, finite, and
        // the held-out loss of step 7, (1e30)², is infinite
        Weights diverging = new Weights();
        assertThatThrownBy(() -> loop(12, 1e30f, dir, 1, checkpoint()).run(diverging,
                task(diverging, (m, step) -> m.pull())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the held-out loss is Infinity at step 7")
                .hasMessageEndingWith("the last good checkpoint, of step 6, is " + checkpoint());

        assertThat(Files.readAllBytes(checkpoint())).as("the step-7 weights were never written").isEqualTo(good);
        Weights resumed = new Weights();
        loop(12, 0.1f, null, 1, checkpoint()).run(resumed, task(resumed, (m, step) -> m.pull()));
        assertThat(NonFinite.value(resumed.namedParameters())).isEmpty();
        assertThat(resumed.pull().item()).isFinite();
    }
}
