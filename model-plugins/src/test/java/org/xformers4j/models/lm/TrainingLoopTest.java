package org.xformers4j.models.lm;

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
 * The divergence guard of {@link TrainingLoop} on scripted losses whose step of failure is known:
 * a non-finite gradient under a finite loss and an optimiser state that overflows under finite
 * weights both stop the run before any checkpoint holds them, naming the last good one, which
 * resumes.
 */
class TrainingLoopTest {

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
    private static TrainingLoop.Task task(Weights weights, BiFunction<Weights, Long, Tensor> loss) {
        return new TrainingLoop.Task() {
            @Override
            public TrainingLoop.Batch trainingBatch(long step) {
                return new TrainingLoop.Batch(loss.apply(weights, step), 1);
            }

            @Override
            public TrainingLoop.Evaluation evaluate() {
                return new TrainingLoop.Evaluation(weights.pull().item(), 0);
            }

            @Override
            public Map<String, String> identity() {
                return Map.of("task", "scripted");
            }
        };
    }

    private TrainingLoop.Settings settings(float learningRate, Path resumeFrom) {
        return new TrainingLoop.Settings(6, 0, learningRate, 0f, 0, 0f, 1, dir, 1, resumeFrom);
    }

    private Path checkpoint() {
        return dir.resolve(TrainingLoop.CHECKPOINT_FILE);
    }

    @Test
    void aNonFiniteGradientUnderAFiniteLossStopsBeforeTheUpdateAndNamesTheLastGoodCheckpoint() throws IOException {
        Weights weights = new Weights();
        // at step 3, d sqrt(z)/dz at z = 0 is infinite while the loss, sqrt(0) = 0, is finite
        TrainingLoop.Task task = task(weights, (m, step) -> step == 3 ? m.pull().add(m.z.sqrt().sum()) : m.pull());

        assertThatThrownBy(() -> new TrainingLoop(settings(0.1f, null)).run(weights, task, p -> { }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the gradient of parameter 'z' holds NaN or infinite values at step 3; lower learningRate "
                        + "(0.1), set gradientClip or check the data; the last good checkpoint, of step 2, is "
                        + checkpoint());

        assertThat(NonFinite.value(weights.namedParameters())).as("the update was not applied").isEmpty();
        Checkpoint saved = Checkpoint.load(checkpoint());
        assertThat(saved.step()).isEqualTo(2);
        Weights resumed = new Weights();
        new TrainingLoop(settings(0.1f, checkpoint())).run(resumed, task(resumed, (m, step) -> m.pull()), p -> { });
        assertThat(resumed.pull().item()).isLessThan(new Weights().pull().item());
    }

    @Test
    void anOptimizerStateThatOverflowsIsNeverCheckpointed() throws IOException {
        Weights weights = new Weights();
        // at step 2 the gradient of w is 1e24: finite, but AdamW's second moment, 0.05 · 1e48, is not
        TrainingLoop.Task task = task(weights, (m, step) -> step == 2 ? m.w.mul(1e24f).sum() : m.pull());

        assertThatThrownBy(() -> new TrainingLoop(settings(0.1f, null)).run(weights, task, p -> { }))
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
        TrainingLoop.Task sane = task(weights, (m, step) -> m.pull());
        new TrainingLoop(new TrainingLoop.Settings(6, 0, 0.1f, 0f, 0, 0f, 1, dir, 3, null)).run(weights, sane,
                p -> { });
        byte[] good = Files.readAllBytes(checkpoint());

        // resumed from step 6 with a learning rate of 1e30: step 7 moves w to about 1e30, finite, and
        // the loss of step 8, (1e30)², is infinite
        Weights diverging = new Weights();
        TrainingLoop.Settings huge = new TrainingLoop.Settings(12, 0, 1e30f, 0f, 0, 0f, 1, dir, 1, checkpoint());
        assertThatThrownBy(() -> new TrainingLoop(huge).run(diverging, task(diverging, (m, step) -> m.pull()),
                p -> { }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("training loss is Infinity at step 8")
                .hasMessageEndingWith("the last good checkpoint, of step 6, is " + checkpoint());

        assertThat(Files.readAllBytes(checkpoint())).as("the step-7 weights were never written").isEqualTo(good);
        Weights resumed = new Weights();
        new TrainingLoop(new TrainingLoop.Settings(12, 0, 0.1f, 0f, 0, 0f, 1, null, 1, checkpoint()))
                .run(resumed, task(resumed, (m, step) -> m.pull()), p -> { });
        assertThat(NonFinite.value(resumed.namedParameters())).isEmpty();
        assertThat(resumed.pull().item()).isFinite();
    }
}
