package org.xformers4j.models.lm;

import org.xformers4j.models.nn.ActivationCheckpointing;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingLoop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.text.BytePairTokenizer;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.tensor.GradMode;

/**
 * Training a byte-level language model on a small repetitive text: it learns the pattern, saves and
 * loads, resumes from a checkpoint exactly, refuses mismatched or corrupt files, stops on a
 * non-finite loss, and its configuration is checked field by field.
 */
class LanguageModelTrainerTest {

    private static final String SENTENCES = "the cat sat on the mat. the dog ran in the fog. a bird sang on a branch. ";
    /** About 3 KB: the three sentences over and over. */
    private static final String TEXT = SENTENCES.repeat(42);

    private static final Consumer<Point> IGNORE = p -> { };

    private static LanguageModelTrainer.Result<LanguageModel> trained;

    /** Two blocks of width 32, flash attention, rotary positions. */
    private static final Architecture TINY = Architecture.builder().attention("flash", Map.of())
            .positional("rotary", Map.of()).modelDim(32).heads(4).layers(2).build();

    /** One block of width 16, for the checkpoint tests. */
    private static final Architecture SMALL = TINY.toBuilder().modelDim(16).heads(2).layers(1).build();

    /** {@link #SMALL} with residual and attention dropout. */
    private static final Architecture SMALL_WITH_DROPOUT = SMALL.toBuilder().dropout(0.2f).attentionDropout(0.1f)
            .build();

    private static LanguageModelTrainer.Builder tiny() {
        return LanguageModelTrainer.builder().architecture(TINY).contextLength(32)
                .optimization(TextModelTrainer.optimizationDefaults().learningRate(5e-3f).warmupSteps(10)
                        .weightDecay(0f).build())
                .run(RunSettings.builder().batchSize(8).seed(3).build()).evaluateEvery(10);
    }

    /** A smaller, faster model for the checkpoint tests, with {@link #smallRun()}. */
    private static LanguageModelTrainer.Builder small() {
        return small(smallRun());
    }

    private static LanguageModelTrainer.Builder small(RunSettings.Builder run) {
        return LanguageModelTrainer.builder().architecture(SMALL).contextLength(16)
                .optimization(smallOptimization().build()).run(run.build()).evaluateEvery(20)
                .evaluationWindows(2).steps(40);
    }

    private static RunSettings.Builder smallRun() {
        return RunSettings.builder().batchSize(4).seed(5);
    }

    private static Optimization.Builder smallOptimization() {
        return TextModelTrainer.optimizationDefaults().warmupSteps(5);
    }

    /** A learning rate that makes the weights diverge within a few steps. */
    private static Optimization huge() {
        return smallOptimization().learningRate(1e30f).warmupSteps(0).gradientClip(0f).build();
    }

    @BeforeAll
    static void train() {
        trained = tiny().steps(150).build().train(TEXT, IGNORE);
    }

    private static String greedy(TextGenerator model, String prompt, int tokens) {
        return model.generate(prompt, new GreedyDecoding(), GenerationConfig.builder().maxNewTokens(tokens).build())
                .get(0).text();
    }

    // ------------------------------------------------------------------ learning

    @Test
    void learnsThePatternValidationBitsPerCharacterFallAndGreedyGenerationContinuesIt() {
        List<Point> curve = trained.curve();
        assertThat(curve).hasSize(15);
        assertThat(curve).extracting(Point::step).containsExactly(10L, 20L, 30L, 40L, 50L, 60L, 70L,
                80L, 90L, 100L, 110L, 120L, 130L, 140L, 150L);
        double first = curve.get(0).evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER);
        double last = curve.get(curve.size() - 1).evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER);
        assertThat(last).as("bpc %s → %s", first, last).isLessThan(0.6 * first);
        assertThat(curve.get(curve.size() - 1).trainLoss()).isLessThan(curve.get(0).trainLoss());
        assertThat(curve).allSatisfy(p -> assertThat(p.itemsPerSecond()).isPositive());

        assertThat(greedy(trained.model(), "the dog ran", 20)).startsWith(" in the fog. a bird");
        assertThat(trained.model().decoder().isTraining()).isFalse();
    }

    @Test
    void evaluationReportsBitsPerCharacterConsistentWithTheLoss() {
        // A byte tokenizer on ASCII text: one token per character, so bpc = loss / ln 2.
        Evaluation evaluation = trained.model().evaluate(TEXT.substring(0, 500), 0);
        assertThat(evaluation.metric(TextModelTrainer.BITS_PER_CHARACTER)).isCloseTo(evaluation.loss() / Math.log(2),
                within(1e-3));
        assertThatThrownBy(() -> trained.model().evaluate("a", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 2 tokens");
    }

    // ------------------------------------------------------------------ model directories

    @Test
    void savedAndLoadedModelGivesIdenticalLogitsAndGenerations(@TempDir Path dir) {
        Path model = dir.resolve("lm");
        trained.model().save(model);
        assertThat(model.resolve(ModelFiles.WEIGHTS_FILE)).isRegularFile();
        assertThat(model.resolve("vocab.json")).doesNotExist();

        LanguageModel loaded = LanguageModel.load(model);
        assertThat(loaded.tokenizer()).isInstanceOf(ByteTokenizer.class);
        assertThat(loaded.architecture()).isEqualTo(trained.model().architecture());
        assertThat(loaded.contextLength()).isEqualTo(32);
        int[][] tokens = {trained.model().tokenizer().encode("the cat sat on")};
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            assertThat(loaded.decoder().forward(tokens, null).toFloatArray())
                    .containsExactly(trained.model().decoder().forward(tokens, null).toFloatArray());
        }
        assertThat(greedy(loaded, "a bird", 30)).isEqualTo(greedy(trained.model(), "a bird", 30));
        assertThat(TextGenerator.load(model)).isInstanceOf(LanguageModel.class);
        assertThat(loaded.provenance()).isEqualTo(trained.model().provenance());
    }

    @Test
    void theModelRecordsHowItWasTrained() throws Exception {
        Map<String, String> provenance = trained.model().provenance();
        Point last = trained.curve().get(trained.curve().size() - 1);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(TEXT.getBytes(StandardCharsets.UTF_8)));

        assertThat(provenance).containsEntry("run.dataSha256", sha)
                .containsEntry("trainer", LanguageModelTrainer.class.getName())
                .containsEntry("result.steps", "150")
                .containsEntry("result.validationBitsPerCharacter",
                        Double.toString(last.evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER)))
                .containsEntry("architecture.attention", trained.model().architecture().attention())
                .containsEntry("run.contextLength", "32")
                .containsKeys("trainedAt", "run.optimization", "run.settings", "run.seed");
        assertThat(new LanguageModel(trained.model().architecture(), trained.model().contextLength(),
                trained.model().tokenizer(), trained.model().decoder()).provenance()).isEmpty();
    }

    @Test
    void aDirectoryWithoutAModelIsRefusedNamingTheFile(@TempDir Path dir) {
        assertThatThrownBy(() -> LanguageModel.load(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no " + ModelFiles.WEIGHTS_FILE);
        assertThatThrownBy(() -> TextGenerator.load(dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(ModelFiles.WEIGHTS_FILE);
    }

    @Test
    void truncatedOrCorruptedWeightsAreRefusedAndTheDirectoryIsLeftAsItWas(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("lm");
        trained.model().save(model);
        Path weights = model.resolve(ModelFiles.WEIGHTS_FILE);
        byte[] good = Files.readAllBytes(weights);

        Files.write(weights, Arrays.copyOf(good, good.length / 2));
        assertRefused(model, weights);

        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        Files.write(weights, flipped);
        assertRefused(model, weights);

        assertThatThrownBy(() -> LanguageModel.load(model)).hasMessageContaining("checksum");
        assertThat(Files.readAllBytes(weights)).containsExactly(flipped);
    }

    private static void assertRefused(Path model, Path weights) throws IOException {
        byte[] before = Files.readAllBytes(weights);
        List<Path> listing;
        try (var files = Files.list(model)) {
            listing = files.sorted().toList();
        }
        assertThatThrownBy(() -> LanguageModel.load(model))
                .isInstanceOfAny(IllegalArgumentException.class, UncheckedIOException.class)
                .hasMessageContaining(weights.toString()).hasMessageContaining("not a valid model file");
        assertThat(Files.readAllBytes(weights)).containsExactly(before);
        try (var files = Files.list(model)) {
            assertThat(files.sorted().toList()).isEqualTo(listing);
        }
    }

    @Test
    void aBytePairTokenizerIsTrainedSavedAndLoadedWithTheModel(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> result = tiny().tokenizer(TextModelTrainer.TokenizerKind.BPE).vocabularySize(300)
                .steps(20).build().train(TEXT, IGNORE);
        LanguageModel model = result.model();
        assertThat(model.tokenizer()).isInstanceOf(BytePairTokenizer.class);
        assertThat(model.tokenizer().vocabularySize()).isGreaterThan(ByteTokenizer.BYTE_TOKENS).isLessThanOrEqualTo(300);
        assertThat(model.decoder().config().vocabularySize()).isEqualTo(model.tokenizer().vocabularySize());
        assertThat(model.tokenizer().encode(SENTENCES).length).isLessThan(SENTENCES.length());

        Path saved = dir.resolve("bpe-lm");
        model.save(saved);
        assertThat(saved.resolve("vocab.json")).isRegularFile();
        assertThat(saved.resolve("merges.txt")).isRegularFile();
        LanguageModel loaded = LanguageModel.load(saved);
        assertThat(loaded.tokenizer()).isInstanceOf(BytePairTokenizer.class);
        assertThat(loaded.tokenizer().encode(TEXT)).containsExactly(model.tokenizer().encode(TEXT));
        assertThat(greedy(loaded, "the cat", 10)).isEqualTo(greedy(model, "the cat", 10));
    }

    // ------------------------------------------------------------------ checkpoints and resume

    /**
     * Thrown from the progress callback at the last step's point, as a crash would stop the run: the
     * checkpoint due after step 20 was written once step 21's gradients proved its weights, the end's
     * checkpoint not yet.
     */
    private static final class Interrupted extends RuntimeException {
        Interrupted() {
            super("stopped at step 40, before its checkpoint");
        }
    }

    private static void crashAtStep40(LanguageModelTrainer trainer) {
        assertThatThrownBy(() -> trainer.train(TEXT, p -> {
            if (p.step() == 40) {
                throw new Interrupted();
            }
        })).isInstanceOf(Interrupted.class);
    }

    /** Runs {@link #small()}, checkpointing every 20 steps into {@code dir}, and stops it before its end's checkpoint. */
    private static Path interruptedAtStep20(Path dir) {
        crashAtStep40(small(smallRun().checkpointDirectory(dir.toString()).checkpointEvery(20)).build());
        Path checkpoint = dir.resolve(TrainingLoop.CHECKPOINT_FILE);
        assertThat(checkpoint).isRegularFile();
        assertThat(loadStep(checkpoint)).isEqualTo(20);
        return checkpoint;
    }

    private static long loadStep(Path checkpoint) {
        try {
            return org.xformers4j.io.Checkpoint.load(checkpoint).step();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aRunResumedFromItsStep20CheckpointEndsWithTheWeightsOfAStraightRun(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().build().train(TEXT, IGNORE);
        Path checkpoint = interruptedAtStep20(dir.resolve("run"));

        List<Point> points = new ArrayList<>();
        LanguageModelTrainer.Result<LanguageModel> resumed = small(smallRun().resumeFrom(checkpoint.toString())).build().train(TEXT,
                points::add);

        assertThat(points).extracting(Point::step).containsExactly(40L);
        assertThat(resumed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
        assertThat(resumed.curve().get(0).evaluation()).isEqualTo(straight.curve().get(1).evaluation());
    }

    @Test
    void withDropoutTheResumedRunReplaysTheMasksAndStillEndsWithTheWeightsOfAStraightRun(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().architecture(SMALL_WITH_DROPOUT).build()
                .train(TEXT, IGNORE);
        crashAtStep40(small(smallRun().checkpointDirectory(dir.toString()).checkpointEvery(20))
                .architecture(SMALL_WITH_DROPOUT).build());

        LanguageModelTrainer.Result<LanguageModel> resumed = small(smallRun()
                .resumeFrom(dir.resolve(TrainingLoop.CHECKPOINT_FILE).toString())).architecture(SMALL_WITH_DROPOUT)
                .build().train(TEXT, IGNORE);

        assertThat(resumed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
        LanguageModelTrainer.Result<LanguageModel> noDropout = small().build().train(TEXT, IGNORE);
        assertThat(noDropout.model().decoder().stateDict()).isNotEqualTo(straight.model().decoder().stateDict());
    }

    @Test
    void checkingTheWeightsBeforeEachCheckpointDrawsNoDropoutMaskAndChangesNothing(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().architecture(SMALL_WITH_DROPOUT).build()
                .train(TEXT, IGNORE);
        LanguageModelTrainer.Result<LanguageModel> checkpointed = small(smallRun().checkpointDirectory(dir.toString())
                .checkpointEvery(7)).architecture(SMALL_WITH_DROPOUT).build().train(TEXT, IGNORE);

        assertThat(checkpointed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
    }

    @Test
    void resumingWithAnotherArchitectureOrOtherDataIsRefusedNamingTheDifference(@TempDir Path dir) {
        Path checkpoint = interruptedAtStep20(dir);
        byte[] before = readAll(checkpoint);
        assertThatThrownBy(() -> small(smallRun().resumeFrom(checkpoint.toString()))
                .architecture(SMALL.toBuilder().layers(2).build()).build().train(TEXT, IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("architecture.layers")
                .hasMessageContaining(checkpoint.toString());
        assertThatThrownBy(() -> small(smallRun().resumeFrom(checkpoint.toString())).build()
                .train(TEXT.replace("cat", "rat"), IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("run.dataSha256");
        assertThatThrownBy(() -> small(smallRun().resumeFrom(checkpoint.toString())).steps(20).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("step 20");
        assertThatThrownBy(() -> small(smallRun().resumeFrom(dir.resolve("missing.x4j").toString())).build().train(TEXT, IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no such file");
        assertThat(readAll(checkpoint)).containsExactly(before);
    }

    private static byte[] readAll(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aNonFiniteLossStopsTrainingNamingTheStep() {
        assertThatThrownBy(() -> small().optimization(huge()).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("at step ")
                .hasMessageContaining("learningRate").hasMessageNotContaining("at step 1;");
    }

    @Test
    void aHugeLearningRateNeverOverwritesTheLastGoodCheckpointAndTheOneItNamesResumes(@TempDir Path dir) {
        Path checkpoint = interruptedAtStep20(dir);
        byte[] good = readAll(checkpoint);

        assertThatThrownBy(() -> small(smallRun().checkpointDirectory(dir.toString()).checkpointEvery(1)
                .resumeFrom(checkpoint.toString())).optimization(huge()).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("at step ")
                .hasMessageEndingWith("the last good checkpoint, of step 20, is " + checkpoint);

        assertThat(readAll(checkpoint)).as("no checkpoint of the diverged steps").containsExactly(good);
        LanguageModelTrainer.Result<LanguageModel> resumed = small(smallRun().resumeFrom(checkpoint.toString())).build()
                .train(TEXT, IGNORE);
        assertThat(resumed.curve()).extracting(Point::step).containsExactly(40L);
        assertThat(resumed.curve().get(0).evaluation().loss()).isFinite();
    }

    @Test
    void earlyStoppingEndsWithTheWeightsOfTheBestHeldOutLoss() {
        LanguageModelTrainer.Result<LanguageModel> result = small(smallRun().patience(1))
                .optimization(smallOptimization().learningRate(0.03f).build()).evaluateEvery(4).steps(60).build()
                .train(TEXT, IGNORE);
        double best = result.curve().stream().mapToDouble(p -> p.evaluation().loss()).min().orElseThrow();
        int split = TEXT.offsetByCodePoints(0, (int) (TEXT.codePointCount(0, TEXT.length()) * 0.9));
        Evaluation now;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            now = result.model().evaluate(TEXT.substring(split), 2);
        }
        assertThat(now.loss()).isEqualTo(best);
    }

    @ParameterizedTest
    @EnumSource(value = ActivationCheckpointing.class, names = {"BLOCK", "HEAD"})
    void activationCheckpointingTrainsTheSameWeights(ActivationCheckpointing level) {
        Architecture dropout = SMALL.toBuilder().dropout(0.2f).build();
        LanguageModelTrainer.Result<LanguageModel> stored = small().architecture(dropout).steps(10).build()
                .train(TEXT, IGNORE);
        LanguageModelTrainer.Result<LanguageModel> recomputed = small()
                .architecture(dropout.toBuilder().checkpointing(level).build()).steps(10).build().train(TEXT, IGNORE);
        assertThat(recomputed.model().decoder().stateDict()).isEqualTo(stored.model().decoder().stateDict());
        assertThat(recomputed.model().architecture().checkpointing()).isEqualTo(level);
    }

    @Test
    void theTimeBudgetStopsTheRunWithItsLastPoint() {
        LanguageModelTrainer.Result<LanguageModel> result = small(smallRun().maxMinutes(1e-7)).build()
                .train(TEXT, IGNORE);
        assertThat(result.curve()).extracting(Point::step).as("a step takes more than 6 µs").containsExactly(1L);
        assertThat(result.model().provenance()).containsEntry("result.steps", "1");
    }

    @Test
    void aTextTooShortForOneWindowIsRefused() {
        assertThatThrownBy(() -> small().build().train("too short", IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too short")
                .hasMessageContaining("contextLength + 1 = 17");
    }

    // ------------------------------------------------------------------ configuration

    @Test
    void postConfigNamesTheBadField() {
        assertThatThrownBy(() -> small().architecture(SMALL.toBuilder().heads(3).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("heads = 3").hasMessageContaining("modelDim = 16")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("heads"));
        assertThatThrownBy(() -> small().architecture(SMALL.toBuilder().attention("flsh", Map.of()).build()).build())
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("'flsh'").hasMessageContaining("flash")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("attention"));
        assertThatThrownBy(() -> small(smallRun().validationFraction(0f)).build()).isInstanceOf(PropertyException.class)
                .hasMessageContaining("validationFraction must be > 0")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("run"));
        assertThatThrownBy(() -> small().evaluateEvery(0).build()).isInstanceOf(PropertyException.class)
                .hasMessageContaining("evaluateEvery = 0 is outside")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("evaluateEvery"));
        assertThatThrownBy(() -> small().tokenizer(TextModelTrainer.TokenizerKind.BPE).vocabularySize(100).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("256")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("vocabularySize"));
        assertThatThrownBy(() -> small().architecture(SMALL.toBuilder().positional("rotary", Map.of("bogus", "1"))
                .build()).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("rotary")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("positionalOptions"))
                .hasMessageContaining("unknown option 'bogus'").hasMessageContaining("rotaryDim");
    }

    @Test
    void theCharLmExampleConfigurationLoadsIntoATrainer() {
        try (ConfigurationManager manager = new ConfigurationManager("../examples/char-lm.xml")) {
            assertThat(manager.getComponentNames()).contains("trainer");
            Object trainer = manager.lookup("trainer");
            assertThat(trainer).isInstanceOf(LanguageModelTrainer.class);
            Architecture architecture = ((LanguageModelTrainer) trainer).architecture();
            assertThat(architecture.attention()).isEqualTo("flash");
            assertThat(architecture.positional()).isEqualTo("rotary");
            assertThat(architecture.modelDim()).isEqualTo(128);
            assertThat(architecture.layers()).isEqualTo(4);
            assertThat(architecture.tiedEmbeddings()).isTrue();
            assertThat(architecture.dropout()).isEqualTo(0.1f);
            assertThat(((LanguageModelTrainer) trainer).contextLength()).isEqualTo(128);
        }
    }
}
