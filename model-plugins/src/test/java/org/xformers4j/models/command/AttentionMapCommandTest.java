package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j attention-map}: PNG heat maps of a digits classifier trained with token
 * selection (so training through {@code train} with it is covered too), of a language model, and
 * the refusals: bad arguments, and a model whose mechanism cannot report its weights.
 */
class AttentionMapCommandTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    @TempDir
    static Path dir;

    private static Path digits;
    private static Path slice;
    private static Path lm;
    private static Path seq2seq;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeAll
    static void trainModels() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("../examples/data/digits.csv"));
        slice = Files.write(dir.resolve("digits.csv"), lines.subList(0, 301));
        digits = dir.resolve("digits.tribuo");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        int code = new TrainCommand(REGISTRY).run(new String[] {"--config", "../examples/digits-classifier.xml",
                        "--train", slice.toString(), "--set", "architecture.attention=full",
                        "--set", "architecture.layers=3", "--set", "architecture.tokenSelectionLayers=2",
                        "--set", "architecture.keepRatio=0.5", "--set", "trainer.epochs=2", "--json",
                        "--save", digits.toString()}, quiet, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Path[] files = LmCommandTest.files(dir, "full");
        lm = dir.resolve("lm");
        code = new LmCommand(REGISTRY).run(new String[] {"train", "--config", files[0].toString(), "--text",
                files[1].toString(), "--save", lm.toString(), "--json"}, quiet, new PrintStream(err, true,
                StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> pairs = Files.readAllLines(Path.of("../examples/data/g2p-moby-dick.tsv"));
        Path pairSlice = Files.write(dir.resolve("pairs.tsv"), pairs.subList(0, 100));
        seq2seq = dir.resolve("seq2seq");
        code = new Seq2SeqCommand(REGISTRY).run(new String[] {"train", "--config", "../examples/seq2seq-g2p.xml",
                "--pairs", pairSlice.toString(), "--set", "architecture.attention=full",
                "--set", "trainer.steps=2", "--set", "trainer.evaluateEvery=2", "--set", "optimization.warmupSteps=1",
                "--save", seq2seq.toString(), "--json"}, quiet, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    }

    private int map(String... args) {
        return new AttentionMapCommand(REGISTRY).run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** The distinct colours of the image's pixels. */
    private static Set<Integer> colours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        return colours;
    }

    @Test
    void drawsOneHeadOfAClassifiersLayerForOneRow() throws IOException {
        Path png = dir.resolve("digit.png");
        int code = map("--model", digits.toString(), "--input", slice.toString(), "--row", "3", "--layer", "1",
                "--head", "2", "--out", png.toString());
        assertThat(code).as(err()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("layer 1, head 2; 17 tokens").contains(png.toString());
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isBetween(500, 1200);
        assertThat(image.getHeight()).isBetween(500, 1200);
        assertThat(colours(image).size()).as("a scale of colours, not one").isGreaterThan(50);
    }

    @Test
    void drawsEveryHeadOfEveryLayerAsAGrid() throws IOException {
        Path png = dir.resolve("grid.png");
        assertThat(map("--model", digits.toString(), "--input", slice.toString(), "--row", "1", "--layer", "all",
                "--head", "all", "--out", png.toString())).as(err()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("12 attention maps");      // 3 layers × 4 heads
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isGreaterThan(image.getHeight());
    }

    @Test
    void drawsALanguageModelsCausalAttentionOverAPrompt() throws IOException {
        Path png = dir.resolve("lm.png");
        assertThat(map("--model", lm.toString(), "--prompt", "The whale", "--out", png.toString())).as(err()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("9 tokens");
        assertThat(ImageIO.read(png.toFile())).isNotNull();
    }

    @Test
    void drawsASequenceToSequenceModelsEncoderAttentionOverItsSource() throws IOException {
        Path png = dir.resolve("seq2seq.png");
        assertThat(map("--model", seq2seq.toString(), "--prompt", "whale", "--head", "all", "--out", png.toString()))
                .as(err()).isZero();
        // 5 letters and </s> (the example pools the mean: no CLS token)
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("layer 0, every head; 6 tokens");
        assertThat(ImageIO.read(png.toFile())).isNotNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "--input|IN|--row|1; --out is required",
            "--input|IN|--row|1|--out|map.jpg; --out must name a .png file",
            "--input|IN|--out|OUT; give either --input CSV --row N",
            "--input|IN|--row|1|--prompt|x|--out|OUT; give either",
            "--input|IN|--row|0|--out|OUT; --row must be a positive integer",
            "--input|IN|--row|1|--layer|3|--out|OUT; --layer 3: the model has 3 layers",
            "--input|IN|--row|1|--head|x|--out|OUT; --head must be a non-negative integer",
            "--input|IN|--row|1|--head|4|--out|OUT; --head 4: the model has 4 heads",
            "--prompt|hi|--out|OUT; is not a text model directory"})
    void badArgumentsAreRefusedWithTheUsage(String args, String message) {
        String[] given = ("--model|" + digits + "|" + args).replace("IN", slice.toString())
                .replace("OUT", dir.resolve("x.png").toString()).split("\\|");
        assertThat(map(given)).isEqualTo(2);
        assertThat(err()).contains(message).contains("usage: xformers4j attention-map");
        assertThat(dir.resolve("x.png")).doesNotExist();
    }

    @Test
    void aRowPastTheEndOfTheFileIsReportedWithTheRowCount() {
        assertThat(map("--model", digits.toString(), "--input", slice.toString(), "--row", "301", "--out",
                dir.resolve("y.png").toString())).isEqualTo(1);
        assertThat(err()).contains("--row 301").contains("has 300 rows");
    }

    @Test
    void aMechanismThatCannotReportItsWeightsIsRefusedNamingIt() throws IOException {
        Path model = dir.resolve("linear.tribuo");
        int code = new TrainCommand(REGISTRY).run(new String[] {"--config", "../examples/wine-classifier.xml",
                        "--train", "../examples/data/wine.csv", "--set", "architecture.attention=linear",
                        "--set", "trainer.epochs=1", "--json", "--save", model.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err()).isZero();
        Path png = dir.resolve("linear.png");
        assertThat(map("--model", model.toString(), "--input", "../examples/data/wine.csv", "--row", "1",
                "--out", png.toString())).isEqualTo(2);
        assertThat(err()).contains("'linear'").contains("WeightedAttention");
        assertThat(png).doesNotExist();
    }
}
