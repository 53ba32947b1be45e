package org.xformers4j.models.lm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.io.FileMutations;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.CountingRegistry;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.models.text.ByteTokenizer;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;

/**
 * An image-to-caption model: a {@link Seq2SeqModel} whose source is an {@link ImageSourceEncoder}
 * (Vision Transformer patches) learns to name real handwritten digits (scikit-learn's 8 × 8 digits,
 * the test resources) with the one trainer and training loop; its patches reach the encoder with their
 * grid; it saves and loads as a model directory whose image settings are checked like the rest of the
 * metadata; and it refuses sources that are not images of its size.
 */
class ImageCaptionTest {

    private static final String[] NAMES = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
            "nine"};
    private static final ImageSourceEncoder DIGITS = new ImageSourceEncoder(8, 8, 1, 2, 1f / 16, "p", "caption");
    private static final Architecture ARCHITECTURE = Architecture.builder().attention("full", Map.of())
            .positional("learned", Map.of("maxLength", "16")).modelDim(32).heads(4).layers(1).hidden(64)
            .pooling(TransformerEncoder.Pooling.MEAN).build();

    private static List<Seq2SeqTrainer.Pair> digits;
    private static Seq2SeqTrainer.Result<Seq2SeqModel> trained;

    @TempDir
    Path dir;

    /** The first {@code count} digits of the test resources as (pixels, English name) pairs. */
    private static List<Seq2SeqTrainer.Pair> digits(int count) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("src/test/resources/data/digits.csv"));
        List<String> header = List.of(lines.get(0).split(","));
        int label = header.indexOf("label");
        List<Seq2SeqTrainer.Pair> pairs = new ArrayList<>();
        for (String line : lines.subList(1, count + 1)) {
            String[] cells = line.split(",");
            float[] pixels = new float[64];
            for (int i = 0; i < 64; i++) {
                pixels[i] = Float.parseFloat(cells[header.indexOf("p" + i)]);
            }
            pairs.add(new Seq2SeqTrainer.Pair(new Source.Pixels(pixels), NAMES[Integer.parseInt(cells[label])]));
        }
        return pairs;
    }

    @BeforeAll
    static void train() throws IOException {
        digits = digits(300);
        trained = Seq2SeqTrainer.builder().source(DIGITS).architecture(ARCHITECTURE).contextLength(8).steps(200)
                .evaluateEvery(50).run(RunSettings.builder().batchSize(16).seed(3).validationFraction(0.1f).build())
                .optimization(TextModelTrainer.optimizationDefaults().learningRate(3e-3f).warmupSteps(10)
                        .weightDecay(0f).build())
                .build().train(digits, p -> { });
    }

    private static String caption(Seq2SeqModel model, Source image) {
        return model.generate(image, new GreedyDecoding(), GenerationConfig.builder().maxNewTokens(8).build())
                .get(0).text();
    }

    @Test
    void theTrainingAndHeldOutLossesFallAndTheModelNamesDigits() {
        List<Point> curve = trained.curve();
        Point first = curve.get(0);
        Point last = curve.get(curve.size() - 1);
        assertThat(last.trainLoss()).isLessThan(first.trainLoss() * 0.5);
        assertThat(last.evaluation().loss()).isLessThan(first.evaluation().loss() * 0.5);
        // the captions it writes are names of digits: it learned the language side from images alone
        int names = 0;
        for (Seq2SeqTrainer.Pair pair : digits.subList(0, 40)) {
            names += List.of(NAMES).contains(caption(trained.model(), pair.source())) ? 1 : 0;
        }
        assertThat(names).isGreaterThanOrEqualTo(36);
    }

    @Test
    void thePatchProjectionIsTrainedThroughTheEncoderAndCrossAttention() {
        Seq2SeqModel model = Seq2SeqModel.create(DIGITS, ARCHITECTURE, 8, tokenizer(), ComponentRegistry.standalone(),
                new SplittableRandom(5));
        int[][] targets = {model.targetTokens("seven"), model.targetTokens("one")};
        model.loss(List.of(digits.get(0).source(), digits.get(1).source()), targets).backward();
        Tensor gradient = model.network().namedParameters().get("source.projection.weight").grad();
        assertThat(gradient).isNotNull();
        assertThat(max(gradient.toFloatArray())).isGreaterThan(0f);
    }

    @Test
    void thePatchesReachTheEncoderWithTheirGrid() {
        SourceEncoder.Embedding embedding = DIGITS.embedding(ARCHITECTURE.decoder(ComponentRegistry.standalone(), 258,
                true, new SplittableRandom(1)), tokenizer(), 8, new SplittableRandom(2));
        SourceEncoder.Embedding.Input input;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            input = embedding.embed(List.of(digits.get(0).source(), digits.get(1).source()));
        }
        assertThat(input.embeddings().shape()).containsExactly(2, 16, 32);
        assertThat(input.keyPaddingMask()).isNull();
        assertThat(input.grid().rows()).isEqualTo(4);
        assertThat(input.grid().cols()).isEqualTo(4);
        assertThat(input.grid().start()).isZero();
    }

    @Test
    void aPatchIsTheLinearProjectionOfItsScaledPixels() {
        float[] pixels = new float[64];
        for (int i = 0; i < 64; i++) {
            pixels[i] = i;                                             // pixel (r, c) = 8r + c
        }
        ImageSourceEncoder.PatchEmbedding embedding = new ImageSourceEncoder.PatchEmbedding(DIGITS.layout(), 0.5f, 3,
                new SplittableRandom(4));
        float[] out;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            out = embedding.embed(List.of(new Source.Pixels(pixels))).embeddings().toFloatArray();
        }
        Map<String, ParameterState> state = embedding.stateDict();
        float[] w = state.get("projection.weight").values();          // [3, 4]
        float[] b = state.get("projection.bias").values();
        // patch 5 is row 1, column 1 of the 4 × 4 grid: pixels (2, 2), (2, 3), (3, 2), (3, 3)
        float[] patch = {18 * 0.5f, 19 * 0.5f, 26 * 0.5f, 27 * 0.5f};
        for (int d = 0; d < 3; d++) {
            double expected = b[d];
            for (int k = 0; k < 4; k++) {
                expected += (double) w[d * 4 + k] * patch[k];
            }
            assertThat((double) out[5 * 3 + d]).isCloseTo(expected, within(1e-4));
        }
    }

    @Test
    void aTextSourceOrAnImageOfAnotherSizeIsRefusedClearly() {
        Seq2SeqModel model = trained.model();
        assertThatThrownBy(() -> model.generate("seven", new GreedyDecoding(), GenerationConfig.builder().build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("captions images of 8 × 8 × 1 values, got a text source");
        assertThatThrownBy(() -> caption(model, new Source.Pixels(new float[63])))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("8 × 8 × 1 = 64 values, got an image of 63");
        List<Seq2SeqTrainer.Pair> mixed = new ArrayList<>(digits.subList(0, 10));
        mixed.set(4, new Seq2SeqTrainer.Pair("a text", "seven"));
        assertThatThrownBy(() -> Seq2SeqTrainer.builder().source(DIGITS).architecture(ARCHITECTURE).contextLength(8)
                .steps(1).build().train(mixed, p -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("pair 4: ");
        assertThatThrownBy(() -> new Source.Pixels(new float[] {1f, Float.NaN}))
                .hasMessageContaining("value 1 is NaN");
    }

    @Test
    void badSettingsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> new ImageSourceEncoder(8, 8, 1, 3, 1f, "p", "caption"))
                .hasMessageContaining("patchSize = 3 must divide height = 8 and width = 8");
        assertThatThrownBy(() -> new ImageSourceEncoder(8, 8, 1, 2, 0f, "p", "caption"))
                .hasMessageContaining("pixelScale = 0.0 must be finite and non-zero");
        assertThatThrownBy(() -> new ImageSourceEncoder(0, 8, 1, 2, 1f, "p", "caption"))
                .hasMessageContaining("height = 0 is outside the valid range");
        assertThatThrownBy(() -> new ImageSourceEncoder(8192, 8192, 4, 2, 1f, "p", "caption"))
                .hasMessageContaining("is more than the 67108864 values an image may have");
        assertThatThrownBy(() -> new ImageSourceEncoder(8, 8, 1, 2, 1f, " ", "caption"))
                .hasMessageContaining("pixelPrefix and captionColumn must name columns");
    }

    // ------------------------------------------------------------------ the model directory

    @Test
    void aSavedModelLoadsWithItsImageSettingsAndCaptionsAsSaved() {
        Path directory = dir.resolve("captions");
        trained.model().save(directory);
        CountingRegistry registry = new CountingRegistry(ComponentRegistry.standalone());

        Seq2SeqModel loaded = Seq2SeqModel.load(directory, registry);

        assertThat(loaded.sourceEncoder()).hasToString(DIGITS.toString());
        assertThat(loaded.network().stateDict().keySet()).contains("source.projection.weight",
                "source.projection.bias");
        for (Seq2SeqTrainer.Pair pair : digits.subList(0, 20)) {
            assertThat(caption(loaded, pair.source())).isEqualTo(caption(trained.model(), pair.source()));
        }
        assertThat(TextGenerator.load(directory, registry)).isInstanceOf(Seq2SeqModel.class);
        assertThat(loaded.provenance()).containsEntry("source.patchSize", "2").containsEntry("source", "image");
    }

    /** Rewrites the weights file of {@code directory} with {@code changes} to its metadata (a valid checksum). */
    private static void rewriteMetadata(Path directory, Map<String, String> changes) throws IOException {
        Path weights = directory.resolve(ModelFiles.WEIGHTS_FILE);
        Map<String, String> metadata = new TreeMap<>(Checkpoint.load(weights).metadata());
        changes.forEach((key, value) -> {                      // "" removes the entry
            if (value.isEmpty()) {
                metadata.remove(key);
            } else {
                metadata.put(key, value);
            }
        });
        Checkpoint.save(weights, Seq2SeqModel.load(directory).network(), null, 0, 0, metadata);
    }

    @Test
    void badImageSettingsInTheMetadataAreRefusedNamingTheEntryBeforeAnythingLarge() throws IOException {
        Path directory = dir.resolve("captions");
        Path weights = directory.resolve(ModelFiles.WEIGHTS_FILE);
        Map<Map<String, String>, String> expected = Map.of(
                Map.of("source", "video"), "'source' = 'video' is not a kind of source",
                Map.of("source.patchSize", "3"), "'source.patchSize' = '3': ImageSourceEncoder.patchSize = 3 must "
                        + "divide height = 8 and width = 8",
                Map.of("source.height", "-8"), "'source.height' = '-8': ImageSourceEncoder.height = -8 is outside",
                Map.of("source.channels", ""), "no 'source.channels' entry",
                Map.of("source.depth", "3"), "unknown entry 'source.depth'",
                Map.of("source", ""), "unknown entry 'source.captionColumn'");      // a text model with image entries
        for (Map.Entry<Map<String, String>, String> edit : expected.entrySet()) {
            trained.model().save(directory);
            rewriteMetadata(directory, edit.getKey());
            assertThatThrownBy(() -> Seq2SeqModel.load(directory)).as(edit.getValue())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("model " + weights + ": " + edit.getValue());
        }
        // a patch projection far larger than the file: refused by the allocation budget, not built
        trained.model().save(directory);
        rewriteMetadata(directory, Map.of("source.height", "8192", "source.width", "8192", "source.patchSize",
                "4096", "source.channels", "1"));
        assertThatThrownBy(() -> Seq2SeqModel.load(directory)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("building it would allocate more than the");
    }

    /**
     * Every mutation of an image-to-caption model's model.x4j, as is and with its checksum made
     * valid: an IllegalArgumentException naming the directory, or a model that captions as the saved
     * one does (or, only past a forged checksum, a well-formed one that differs).
     */
    @Test
    void mutatedWeightsFilesAreRejectedClearlyOrLoadCorrectly() throws IOException {
        Path original = dir.resolve("captions");
        trained.model().save(original);
        byte[] valid = Files.readAllBytes(original.resolve(ModelFiles.WEIGHTS_FILE));
        List<String> expected = digits.subList(0, 5).stream().map(p -> caption(trained.model(), p.source())).toList();
        Path directory = dir.resolve("mutated");
        trained.model().save(directory);
        List<FileMutations.Mutation> mutations = FileMutations.all(valid, 40, 16);
        int rejected = 0;
        for (FileMutations.Mutation mutation : mutations) {
            for (boolean validChecksum : new boolean[] {false, true}) {
                byte[] bytes = mutation.bytes().clone();
                if (validChecksum && bytes.length >= 4) {
                    FileMutations.forgeTrailingCrc32(bytes);
                }
                Files.write(directory.resolve(ModelFiles.WEIGHTS_FILE), bytes);
                Seq2SeqModel loaded;
                try {
                    loaded = Seq2SeqModel.load(directory);
                } catch (IllegalArgumentException e) {
                    assertThat(e.getMessage()).as(mutation.description()).contains(directory.toString());
                    rejected++;
                    continue;
                }
                if (!captions(loaded).equals(expected)) {
                    assertThat(validChecksum).as(mutation + " loaded a different model past the checksum").isTrue();
                }
            }
        }
        assertThat(rejected).isGreaterThan(mutations.size());
    }

    /** The captions of the first five digits, or none when altered weights make the logits non-finite (refused clearly). */
    private static List<String> captions(Seq2SeqModel model) {
        try {
            return digits.subList(0, 5).stream().map(p -> caption(model, p.source())).toList();
        } catch (IllegalStateException e) {
            assertThat(e.getMessage()).contains("logits");
            return List.of();
        }
    }

    private static ByteTokenizer tokenizer() {
        return new ByteTokenizer(List.of(Seq2SeqModel.START_TOKEN, Seq2SeqModel.END_TOKEN));
    }

    private static float max(float[] values) {
        float max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}
