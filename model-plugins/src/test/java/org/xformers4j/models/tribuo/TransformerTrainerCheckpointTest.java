package org.xformers4j.models.tribuo;

import org.xformers4j.train.EarlyStopping;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingLoop;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.nn.ParameterState;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Checkpoints of {@link TransformerTrainer}: a run resumed from a mid-run checkpoint ends with the
 * same bytes on disk and the same predictions as an uninterrupted one (with dropout, and with early
 * stopping's best weights), a NaN loss or a diverging learning rate stops training and leaves the
 * last good checkpoint, which resumes, and a checkpoint from another configuration is refused. The
 * data are 4 × 4 synthetic images.
 */
class TransformerTrainerCheckpointTest {

    private static final int PIXELS = 16;

    @TempDir
    Path dir;

    @Test
    void resumingFromAMidRunCheckpointGivesTheUninterruptedWeights() throws Exception {
        MutableDataset<Label> data = images(48, -1);                     // 48 / 8 = 6 steps per epoch, 4 epochs
        Path straight = dir.resolve("straight");
        Path interrupted = dir.resolve("interrupted");
        Path resumed = dir.resolve("resumed");

        TransformerModel<Label> uninterrupted = trainer(straight, 24, "").train(data);
        TransformerModel<Label> withMidRunCheckpoint = trainer(dir.resolve("checkpointed"), 14, "").train(data);
        crashWhenLogging("epoch 3/", () -> trainer(interrupted, 14, "").train(data));
        Checkpoint mid = Checkpoint.load(interrupted.resolve(TrainingLoop.CHECKPOINT_FILE));
        assertThat(mid.step()).as("batch 2 of epoch 3").isEqualTo(14);
        TransformerModel<Label> resumedModel = trainer(resumed, 24,
                interrupted.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).train(data);

        assertThat(scores(withMidRunCheckpoint, data)).isEqualTo(scores(uninterrupted, data));
        assertThat(scores(resumedModel, data)).isEqualTo(scores(uninterrupted, data));
        // Weights, AdamW's moments and the metadata after the last step, bit for bit.
        assertThat(Files.mismatch(straight.resolve(TrainingLoop.CHECKPOINT_FILE),
                resumed.resolve(TrainingLoop.CHECKPOINT_FILE))).isEqualTo(-1L);
    }

    @Test
    void resumingWithEarlyStoppingRestoresTheBestWeightsWrittenBeforeTheInterruption() throws Exception {
        MutableDataset<Label> data = images(48, -1);                     // 36 train / 8 = 5 steps per epoch
        Path straight = dir.resolve("straight");
        Path interrupted = dir.resolve("interrupted");
        TransformerModel<Label> uninterrupted = validatingTrainer(straight, "").train(data);

        // Stop the run as a crash would, when epoch 3 reports its validation loss: after the
        // regular checkpoint of step 14, before epoch 3's early-stopping bookkeeping. The resumed
        // run must take epoch 1's weights from best.x4j and stop early after epoch 3 as well.
        crashWhenLogging("epoch 3/", () -> validatingTrainer(interrupted, "").train(data));
        Path checkpoint = interrupted.resolve(TrainingLoop.CHECKPOINT_FILE);
        assertThat(Checkpoint.load(checkpoint).step()).isEqualTo(14);
        assertThat(Checkpoint.load(checkpoint).metadata()).containsEntry("earlyStopping.bestStep", "5")
                .containsEntry("earlyStopping.evaluationsWithoutImprovement", "1");
        assertThat(interrupted.resolve(EarlyStopping.BEST_FILE)).exists();

        TransformerModel<Label> resumed = validatingTrainer(dir.resolve("resumed"), checkpoint.toString()).train(data);
        assertThat(scores(resumed, data)).isEqualTo(scores(uninterrupted, data));
    }

    /** Runs {@code training} with a log handler that throws, as a crash would, at the line starting {@code line}. */
    private static void crashWhenLogging(String line, Runnable training) {
        Logger log = Logger.getLogger(TransformerTrainer.class.getName());
        Handler crash = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getMessage().startsWith(line)) {
                    throw new IllegalStateException("simulated crash");
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(crash);
        try {
            assertThatThrownBy(training::run).hasMessage("simulated crash");
        } finally {
            log.removeHandler(crash);
        }
    }

    @Test
    void theTimeBudgetStopsTrainingWithALastCheckpoint() throws Exception {
        Path checkpoints = dir.resolve("budget");
        List<String> lines = new ArrayList<>();
        Logger log = Logger.getLogger(TransformerTrainer.class.getName());
        Handler progress = new Handler() {
            @Override
            public void publish(LogRecord record) {
                lines.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(progress);
        try {
            builder(checkpoints, 100, "").run(run(checkpoints, 100, "").maxMinutes(1e-7).build()).build()
                    .train(images(48, -1));
        } finally {
            log.removeHandler(progress);
        }
        assertThat(lines).as("one point, after the first step (which takes more than 6 µs)").hasSize(1);
        assertThat(lines.get(0)).startsWith("epoch 1/4: loss ");
        assertThat(Checkpoint.load(checkpoints.resolve(TrainingLoop.CHECKPOINT_FILE)).step()).isEqualTo(1);
    }

    @Test
    void nonFiniteLossStopsTrainingAndKeepsTheLastGoodCheckpoint() throws Exception {
        int poisoned = 40;
        Path checkpoints = dir.resolve("nan");
        assertThatThrownBy(() -> trainer(checkpoints, 1, "").train(images(48, poisoned)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageMatching("(?s).*training loss is (NaN|-?Infinity) at step.*")
                .hasMessageEndingWith(", is " + checkpoints.resolve(TrainingLoop.CHECKPOINT_FILE))
                .satisfies(e -> {
                    Matcher m = Pattern.compile("at step (\\d+);").matcher(e.getMessage());
                    assertThat(m.find()).as(e.getMessage()).isTrue();
                    long failedStep = Long.parseLong(m.group(1));
                    assertThat(failedStep).as("the poisoned example must not be in the first two batches")
                            .isGreaterThan(2);
                    // The checkpoint of step failedStep - 1 was due, but is written only once the next
                    // step's loss and gradients prove its weights: the last one written is of the step before.
                    Checkpoint last = Checkpoint.load(checkpoints.resolve(TrainingLoop.CHECKPOINT_FILE));
                    assertThat(last.step()).isEqualTo(failedStep - 2);
                    assertThat(e.getMessage()).contains("the last good checkpoint, of step " + (failedStep - 2));
                    for (ParameterState p : last.modelState().values()) {
                        for (float v : p.values()) {
                            assertThat(v).isFinite();
                        }
                    }
                });

        // The poisoned example had not been trained on before the failing step, so the kept
        // checkpoint is exactly the clean run's state there: resuming it on the clean data ends
        // where the clean run ends.
        MutableDataset<Label> clean = images(48, -1);
        TransformerModel<Label> straight = trainer(dir.resolve("clean"), 24, "").train(clean);
        TransformerModel<Label> resumed = trainer(dir.resolve("resumed"), 24,
                checkpoints.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).train(clean);
        assertThat(scores(resumed, clean)).isEqualTo(scores(straight, clean));
    }

    @Test
    void aHugeLearningRateStopsBeforeAnyNonFiniteWeightsAreCheckpointed() throws Exception {
        MutableDataset<Label> data = images(48, -1);
        Path checkpoints = dir.resolve("huge");
        TransformerTrainer<Label> huge = builder(checkpoints, 1, "")
                .optimization(Optimization.builder().learningRate(1e4f).build()).build();

        Throwable failure = catchThrowable(() -> huge.train(data));

        assertThat(failure).isInstanceOf(IllegalStateException.class)
                .hasMessageMatching("(?s).*(gradient|parameter|loss|state).* at step \\d+;.*")
                .hasMessageContaining("the last good checkpoint, of step ");
        Matcher m = Pattern.compile("at step (\\d+);.*the last good checkpoint, of step (\\d+), is (.*)$")
                .matcher(failure.getMessage());
        assertThat(m.find()).as(failure.getMessage()).isTrue();
        Path named = Path.of(m.group(3));
        assertThat(named).isEqualTo(checkpoints.resolve(TrainingLoop.CHECKPOINT_FILE));
        Checkpoint last = Checkpoint.load(named);
        assertThat(last.step()).isEqualTo(Long.parseLong(m.group(2))).isLessThan(Long.parseLong(m.group(1)));
        for (Map.Entry<String, ParameterState> p : last.modelState().entrySet()) {
            for (float v : p.getValue().values()) {
                assertThat(v).as(p.getKey()).isFinite();
            }
        }
        // The named checkpoint resumes: a trainer configured alike but with a sane learning rate
        // (not part of the run's identity) continues from it to a model with finite scores.
        TransformerModel<Label> resumed = builder(dir.resolve("resumed"), 1, named.toString())
                .optimization(Optimization.builder().learningRate(1e-2f).build()).build().train(data);
        for (Map<String, Double> example : scores(resumed, data)) {
            assertThat(example.values()).allSatisfy(score -> assertThat(score).isFinite());
        }
    }

    @Test
    void aCheckpointOfAnotherConfigurationIsRefused() throws Exception {
        MutableDataset<Label> data = images(48, -1);
        Path first = dir.resolve("first");
        trainer(first, 6, "").train(data);
        String checkpoint = first.resolve(TrainingLoop.CHECKPOINT_FILE).toString();

        // one more epoch than the run that wrote the checkpoint, which ended at its last step
        TransformerTrainer<Label> wider = builder(dir.resolve("wider"), 6, checkpoint)
                .architecture(ARCHITECTURE.toBuilder().modelDim(16).build()).epochs(5).build();
        assertThatThrownBy(() -> wider.train(data))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not match this architecture");
        TransformerTrainer<Label> reseeded = builder(dir.resolve("reseeded"), 6, checkpoint)
                .run(run(dir.resolve("reseeded"), 6, checkpoint).seed(2).build()).epochs(5).build();
        assertThatThrownBy(() -> reseeded.train(data))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trainer.seed = 1 but this run has trainer.seed = 2");
        TransformerTrainer<Label> missing = builder(dir.resolve("missing"), 6, dir.resolve("nothing.x4j").toString())
                .build();
        assertThatThrownBy(() -> missing.train(data))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("resumeFrom = " + dir.resolve("nothing.x4j") + ": no such file");
    }

    @Test
    void checkpointSettingsAreValidated() {
        assertThatThrownBy(() -> builder(dir, 0, "").build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("checkpointEvery = 0 is outside");
        assertThatThrownBy(() -> run(dir, 1, "").checkpointDirectory(null).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("checkpointDirectory must be set, got null");
        assertThatThrownBy(() -> builder(dir, 1, "bad\0path").build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("resumeFrom = 'bad");
    }

    /** A 4-epoch run with dropout, checkpointing into {@code checkpoints} every {@code every} steps. */
    private static TransformerTrainer<Label> trainer(Path checkpoints, int every, String resumeFrom) {
        return builder(checkpoints, every, resumeFrom).build();
    }

    /**
     * A run whose validation loss is best after epoch 1 (step 5) and worse after epochs 2 and 3,
     * so it stops early after epoch 3 and returns epoch 1's weights; checkpoints every 7 steps.
     */
    private static TransformerTrainer<Label> validatingTrainer(Path checkpoints, String resumeFrom) {
        return builder(checkpoints, 7, resumeFrom).epochs(8)
                .optimization(Optimization.builder().learningRate(1e-1f).warmupSteps(3).build())
                .run(run(checkpoints, 7, resumeFrom).validationFraction(0.25f).patience(2).build()).build();
    }

    /** One block of width 8 with residual dropout over learned positions. */
    private static final Architecture ARCHITECTURE = Architecture.builder()
            .positional("learned", Map.of("maxLength", "4")).modelDim(8).heads(2).layers(1).dropout(0.1f).build();

    private static TransformerTrainer.Builder<Label> builder(Path checkpoints, int every, String resumeFrom) {
        return TransformerTrainer.builder(new ImagePatches(4, 4, 1, 2, 1f, "p"), new LabelHead())
                .architecture(ARCHITECTURE).epochs(4)
                .optimization(Optimization.builder().learningRate(1e-2f).warmupSteps(3).build())
                .run(run(checkpoints, every, resumeFrom).build());
    }

    private static RunSettings.Builder run(Path checkpoints, int every, String resumeFrom) {
        return TransformerTrainer.runDefaults().batchSize(8).seed(1).checkpointDirectory(checkpoints.toString())
                .checkpointEvery(every).resumeFrom(resumeFrom);
    }

    /**
     * {@code n} 4 × 4 images with one bright 2 × 2 square, labelled by the half it lies in; pixel 0
     * of example {@code poisoned} (if >= 0) is {@link Double#MAX_VALUE}, which Tribuo accepts (it refuses
     * NaN features) and which is infinite as the network's float, so its batch's loss is NaN.
     */
    private static MutableDataset<Label> images(int n, int poisoned) {
        SplittableRandom rng = new SplittableRandom(7);
        MutableDataset<Label> data = new MutableDataset<>(new SimpleDataSourceProvenance("squares", new LabelFactory()),
                new LabelFactory());
        String[] names = new String[PIXELS];
        for (int i = 0; i < PIXELS; i++) {
            names[i] = "p" + i;
        }
        for (int e = 0; e < n; e++) {
            int row = rng.nextInt(3);
            int col = rng.nextInt(3);
            double[] pixels = new double[PIXELS];
            for (int i = 0; i < PIXELS; i++) {
                boolean inSquare = i / 4 - row >= 0 && i / 4 - row < 2 && i % 4 - col >= 0 && i % 4 - col < 2;
                pixels[i] = (inSquare ? 0.8 : 0.1) + 0.1 * rng.nextDouble();
            }
            if (e == poisoned) {
                pixels[0] = Double.MAX_VALUE;                            // infinite as a float
            }
            data.add(new ArrayExample<>(new Label(row == 0 ? "top" : "bottom"), names, pixels));
        }
        return data;
    }

    /** Each example's predicted scores by label, compared exactly. */
    private static List<Map<String, Double>> scores(TransformerModel<Label> model, MutableDataset<Label> data) {
        List<Map<String, Double>> scores = new ArrayList<>();
        for (Prediction<Label> p : model.predict(data)) {
            Map<String, Double> byLabel = new TreeMap<>();
            p.getOutputScores().forEach((label, score) -> byLabel.put(label, score.getScore()));
            scores.add(byLabel);
        }
        return scores;
    }
}
