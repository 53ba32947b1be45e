package org.xformers4j.models.lm;

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

    private static final Consumer<TrainingLoop.Point> IGNORE = p -> { };

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
        return LanguageModelTrainer.builder().architecture(TINY).contextLength(32).batchSize(8).learningRate(5e-3f)
                .warmupSteps(10).weightDecay(0f).evaluateEvery(10).seed(3);
    }

    /** A smaller, faster model for the checkpoint tests. */
    private static LanguageModelTrainer.Builder small() {
        return LanguageModelTrainer.builder().architecture(SMALL).contextLength(16).batchSize(4).warmupSteps(5)
                .evaluateEvery(20).evaluationWindows(2).steps(40).seed(5);
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
        List<TrainingLoop.Point> curve = trained.curve();
        assertThat(curve).hasSize(15);
        assertThat(curve).extracting(TrainingLoop.Point::step).containsExactly(10L, 20L, 30L, 40L, 50L, 60L, 70L,
                80L, 90L, 100L, 110L, 120L, 130L, 140L, 150L);
        double first = curve.get(0).evaluation().bitsPerCharacter();
        double last = curve.get(curve.size() - 1).evaluation().bitsPerCharacter();
        assertThat(last).as("bpc %s → %s", first, last).isLessThan(0.6 * first);
        assertThat(curve.get(curve.size() - 1).trainLoss()).isLessThan(curve.get(0).trainLoss());
        assertThat(curve).allSatisfy(p -> assertThat(p.tokensPerSecond()).isPositive());

        assertThat(greedy(trained.model(), "the dog ran", 20)).startsWith(" in the fog. a bird");
        assertThat(trained.model().decoder().isTraining()).isFalse();
    }

    @Test
    void evaluationReportsBitsPerCharacterConsistentWithTheLoss() {
        // A byte tokenizer on ASCII text: one token per character, so bpc = loss / ln 2.
        TrainingLoop.Evaluation evaluation = trained.model().evaluate(TEXT.substring(0, 500), 0);
        assertThat(evaluation.bitsPerCharacter()).isCloseTo(evaluation.loss() / Math.log(2),
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
        TrainingLoop.Point last = trained.curve().get(trained.curve().size() - 1);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(TEXT.getBytes(StandardCharsets.UTF_8)));

        assertThat(provenance).containsEntry("run.dataSha256", sha)
                .containsEntry("trainer", LanguageModelTrainer.class.getName())
                .containsEntry("result.steps", "150")
                .containsEntry("result.validationBitsPerCharacter",
                        Double.toString(last.evaluation().bitsPerCharacter()))
                .containsEntry("architecture.attention", trained.model().architecture().attention())
                .containsEntry("run.contextLength", "32")
                .containsKeys("trainedAt", "run.learningRate", "run.seed");
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

    /** Thrown from the progress callback to stop a run right after its step-20 checkpoint. */
    private static final class Interrupted extends RuntimeException {
        Interrupted() {
            super("stopped after step 20");
        }
    }

    /** Runs {@link #small()} to step 20, where it checkpoints into {@code dir}, and stops it there. */
    private static Path interruptedAtStep20(Path dir) {
        LanguageModelTrainer trainer = small().checkpointDirectory(dir.toString()).checkpointEvery(20).build();
        assertThatThrownBy(() -> trainer.train(TEXT, p -> {
            if (p.step() == 20) {
                throw new Interrupted();
            }
        })).isInstanceOf(Interrupted.class);
        Path checkpoint = dir.resolve(TrainingLoop.CHECKPOINT_FILE);
        assertThat(checkpoint).isRegularFile();
        return checkpoint;
    }

    @Test
    void aRunResumedFromItsStep20CheckpointEndsWithTheWeightsOfAStraightRun(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().build().train(TEXT, IGNORE);
        Path checkpoint = interruptedAtStep20(dir.resolve("run"));

        List<TrainingLoop.Point> points = new ArrayList<>();
        LanguageModelTrainer.Result<LanguageModel> resumed = small().resumeFrom(checkpoint.toString()).build().train(TEXT,
                points::add);

        assertThat(points).extracting(TrainingLoop.Point::step).containsExactly(40L);
        assertThat(resumed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
        assertThat(resumed.curve().get(0).evaluation()).isEqualTo(straight.curve().get(1).evaluation());
    }

    @Test
    void withDropoutTheResumedRunReplaysTheMasksAndStillEndsWithTheWeightsOfAStraightRun(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().architecture(SMALL_WITH_DROPOUT).build().train(TEXT, IGNORE);
        LanguageModelTrainer interrupted = small().architecture(SMALL_WITH_DROPOUT)
                .checkpointDirectory(dir.toString()).checkpointEvery(20).build();
        assertThatThrownBy(() -> interrupted.train(TEXT, p -> {
            if (p.step() == 20) {
                throw new Interrupted();
            }
        })).isInstanceOf(Interrupted.class);

        LanguageModelTrainer.Result<LanguageModel> resumed = small().architecture(SMALL_WITH_DROPOUT)
                .resumeFrom(dir.resolve(TrainingLoop.CHECKPOINT_FILE).toString()).build().train(TEXT, IGNORE);

        assertThat(resumed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
        LanguageModelTrainer.Result<LanguageModel> noDropout = small().build().train(TEXT, IGNORE);
        assertThat(noDropout.model().decoder().stateDict()).isNotEqualTo(straight.model().decoder().stateDict());
    }

    @Test
    void checkingTheWeightsBeforeEachCheckpointDrawsNoDropoutMaskAndChangesNothing(@TempDir Path dir) {
        LanguageModelTrainer.Result<LanguageModel> straight = small().architecture(SMALL_WITH_DROPOUT).build()
                .train(TEXT, IGNORE);
        LanguageModelTrainer.Result<LanguageModel> checkpointed = small().architecture(SMALL_WITH_DROPOUT)
                .checkpointDirectory(dir.toString()).checkpointEvery(7).build().train(TEXT, IGNORE);

        assertThat(checkpointed.model().decoder().stateDict()).isEqualTo(straight.model().decoder().stateDict());
    }

    @Test
    void resumingWithAnotherArchitectureOrOtherDataIsRefusedNamingTheDifference(@TempDir Path dir) {
        Path checkpoint = interruptedAtStep20(dir);
        byte[] before = readAll(checkpoint);
        assertThatThrownBy(() -> small().architecture(SMALL.toBuilder().layers(2).build())
                .resumeFrom(checkpoint.toString()).build().train(TEXT, IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("architecture.layers")
                .hasMessageContaining(checkpoint.toString());
        assertThatThrownBy(() -> small().resumeFrom(checkpoint.toString()).build()
                .train(TEXT.replace("cat", "rat"), IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("run.dataSha256");
        assertThatThrownBy(() -> small().steps(20).warmupSteps(5).resumeFrom(checkpoint.toString()).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("step 20");
        assertThatThrownBy(() -> small().resumeFrom(dir.resolve("missing.x4j").toString()).build().train(TEXT, IGNORE))
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
        assertThatThrownBy(() -> small().learningRate(1e30f).warmupSteps(0).gradientClip(0f).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("at step ")
                .hasMessageContaining("learningRate").hasMessageNotContaining("at step 1;");
    }

    @Test
    void aHugeLearningRateNeverOverwritesTheLastGoodCheckpointAndTheOneItNamesResumes(@TempDir Path dir) {
        Path checkpoint = interruptedAtStep20(dir);
        byte[] good = readAll(checkpoint);

        assertThatThrownBy(() -> small().learningRate(1e30f).warmupSteps(0).gradientClip(0f)
                .checkpointDirectory(dir.toString()).checkpointEvery(1).resumeFrom(checkpoint.toString()).build()
                .train(TEXT, IGNORE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("at step ")
                .hasMessageEndingWith("the last good checkpoint, of step 20, is " + checkpoint);

        assertThat(readAll(checkpoint)).as("no checkpoint of the diverged steps").containsExactly(good);
        LanguageModelTrainer.Result<LanguageModel> resumed = small().resumeFrom(checkpoint.toString()).build()
                .train(TEXT, IGNORE);
        assertThat(resumed.curve()).extracting(TrainingLoop.Point::step).containsExactly(40L);
        assertThat(resumed.curve().get(0).evaluation().loss()).isFinite();
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
        assertThatThrownBy(() -> small().validationFraction(0f).build()).isInstanceOf(PropertyException.class)
                .hasMessageContaining("validationFraction")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("validationFraction"));
        assertThatThrownBy(() -> small().warmupSteps(40).build()).isInstanceOf(PropertyException.class)
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("warmupSteps"));
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
