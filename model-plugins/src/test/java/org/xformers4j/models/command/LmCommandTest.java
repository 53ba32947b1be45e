package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.models.lm.LanguageModel;
import org.xformers4j.models.plot.Curves;
import org.xformers4j.models.plot.MetricsFile;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j lm train} on a plain class path: a tiny configuration trains and saves a model
 * with JSON or text output, and bad arguments and configurations give the usage or failure exit code
 * with the problem named.
 */
class LmCommandTest {

    /** A tiny byte-level model trained for 20 steps, evaluated every 10. */
    static final String CONFIG = """
            <?xml version="1.0" encoding="UTF-8"?>
            <config>
                <component name="trainer" type="org.xformers4j.models.lm.LanguageModelTrainer">
                    <property name="architecture" value="architecture"/>
                    <property name="contextLength" value="16"/>
                    <property name="steps" value="20"/>
                    <property name="evaluateEvery" value="10"/>
                    <property name="evaluationWindows" value="4"/>
                    <property name="optimization" value="optimization"/>
                    <property name="run" value="run"/>
                </component>
                <component name="optimization" type="org.xformers4j.train.Optimization">
                    <property name="learningRate" value="0.002"/>
                    <property name="beta2" value="0.95"/>
                    <property name="weightDecay" value="0.1"/>
                    <property name="warmupSteps" value="5"/>
                    <property name="finalLearningRateFraction" value="0.1"/>
                    <property name="gradientClip" value="1.0"/>
                </component>
                <component name="run" type="org.xformers4j.train.RunSettings">
                    <property name="batchSize" value="4"/>
                </component>
                <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                    <property name="attention" value="ATTENTION"/>
                    <property name="positional" value="rotary"/>
                    <property name="modelDim" value="16"/>
                    <property name="heads" value="2"/>
                    <property name="layers" value="1"/>
                </component>
            </config>
            """;

    static final String TEXT = "the cat sat on the mat. the dog ran in the fog. ".repeat(30);

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int lm(String... args) {
        return new LmCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** Writes the tiny configuration (with {@code attention}) and the text into {@code dir}. */
    static Path[] files(Path dir, String attention) throws IOException {
        Path config = Files.writeString(dir.resolve("lm.xml"), CONFIG.replace("ATTENTION", attention));
        Path text = Files.writeString(dir.resolve("text.txt"), TEXT);
        return new Path[] {config, text};
    }

    @Test
    void trainsSavesAndPrintsExactlyTheJsonSummary() throws IOException {
        Path[] files = files(dir, "flash");
        Path model = dir.resolve("model");

        int code = lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--save",
                model.toString(), "--json");

        assertThat(code).as(err()).isZero();
        assertThat(out().lines().count()).as(out()).isEqualTo(1);
        Map<String, Object> summary = new LinkedHashMap<>();
        List<Map<String, Object>> curve = new ArrayList<>();
        try (JsonParser json = new JsonFactory().createParser(out())) {
            assertThat(json.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                if (json.nextToken() == JsonToken.START_ARRAY) {
                    while (json.nextToken() == JsonToken.START_OBJECT) {
                        Map<String, Object> point = new LinkedHashMap<>();
                        while (json.nextToken() == JsonToken.FIELD_NAME) {
                            String name = json.currentName();
                            json.nextToken();
                            point.put(name, json.getNumberValue());
                        }
                        curve.add(point);
                    }
                    summary.put(field, curve);
                } else {
                    summary.put(field, json.getNumberValue());
                }
            }
            assertThat(json.nextToken()).isNull();
        }
        assertThat(summary).containsOnlyKeys("steps", "validation_loss", "validation_bpc", "train_seconds", "curve");
        assertThat(((Number) summary.get("steps")).intValue()).isEqualTo(20);
        double bpc = ((Number) summary.get("validation_bpc")).doubleValue();
        assertThat(bpc).isPositive().isLessThan(8.0);
        assertThat(((Number) summary.get("validation_loss")).doubleValue() / Math.log(2)).isCloseTo(bpc,
                within(1e-3));
        assertThat(curve).hasSize(2);
        assertThat(curve).extracting(p -> ((Number) p.get("step")).intValue()).containsExactly(10, 20);
        assertThat(curve.get(0)).containsOnlyKeys("step", "loss", "validation_loss", "validation_bpc", "seconds");
        assertThat(((Number) curve.get(1).get("validation_bpc")).doubleValue()).isCloseTo(bpc,
                within(1e-4));

        assertThat(model.resolve("model.x4j")).isRegularFile();
        assertThat(LanguageModel.load(model).architecture().modelDim()).isEqualTo(16);
    }

    @Test
    void textOutputHasOneLinePerEvaluationAndTheSummary() throws IOException {
        Path[] files = files(dir, "flash");

        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString())).as(err()).isZero();

        assertThat(out()).contains("training a language model on " + files[1]).contains("1,440 characters")
                .contains("trained 20 steps").contains("validation bits per character");
        assertThat(out().lines().filter(l -> l.startsWith("step ")).toList()).hasSize(2)
                .allSatisfy(l -> assertThat(l).contains("loss").contains("bpc").contains("tokens/s"));
        assertThat(out()).doesNotContain("model saved");
    }

    @Test
    void writesTheMetricsAndThePlotOfTheRunAndShowsProgressOnStandardError() throws IOException {
        Path[] files = files(dir, "flash");
        Path metrics = dir.resolve("lm.jsonl");
        Path png = dir.resolve("lm.png");

        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--metrics",
                metrics.toString(), "--plot", png.toString())).as(err()).isZero();

        Curves curves = MetricsFile.read(metrics, "lm");
        assertThat(curves.steps()).containsExactly(10, 20);
        assertThat(curves.series()).containsExactly("loss", "validation_loss", "validation_bits_per_character",
                "items_per_second", "learning_rate", "train_seconds", "elapsed_seconds");
        // the bits per character the report printed for each point are those of the metrics file
        List<String> bpc = out().lines().filter(l -> l.startsWith("step ")).map(l -> l.replaceAll(".* bpc (\\S+) .*", "$1"))
                .toList();
        assertThat(bpc).containsExactly(Arrays.stream(curves.values("validation_bits_per_character"))
                .mapToObj(v -> String.format(Locale.ROOT, "%.3f", v)).toArray(String[]::new));
        assertThat(out()).endsWith("curves plotted to " + png + "\n");
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(1000);
        assertThat(err()).contains("step 20/20 (100%)  loss ").contains("tokens/s").contains("ETA 0:00");
    }

    @Test
    void badMetricsAndPlotFilesAreFoundBeforeTraining() throws IOException {
        Path[] files = files(dir, "flash");
        Path nowhere = dir.resolve("no-dir/lm.jsonl");
        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--metrics",
                nowhere.toString())).isEqualTo(1);
        assertThat(err()).contains("--metrics " + nowhere + ": cannot be written");
        err.reset();
        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--plot",
                dir.resolve("lm.svg").toString())).isEqualTo(2);
        assertThat(err()).contains("--plot must name a .png file").contains("usage: xformers4j lm train");
        err.reset();
        Path same = dir.resolve("lm.png");
        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--metrics",
                same.toString(), "--plot", same.toString())).isEqualTo(2);
        assertThat(err()).contains("--metrics and --plot name the same file");
        assertThat(out()).isEmpty();
    }

    @Test
    void aSaveDirectoryThatCannotBeWrittenIsFoundBeforeTraining() throws IOException {
        Path[] files = files(dir, "flash");
        Path taken = Files.writeString(dir.resolve("taken"), "a file, not a directory");

        for (Path save : new Path[] {taken, taken.resolve("model")}) {
            assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--save",
                    save.toString())).isEqualTo(1);
            assertThat(err()).contains("--save " + save.toAbsolutePath());
            assertThat(out()).doesNotContain("training a language model");
            err.reset();
        }
    }

    @Test
    void usageErrorsNameTheProblem() {
        assertThat(lm()).isEqualTo(2);
        assertThat(err()).contains("expected the subcommand 'train'").contains("usage: xformers4j lm train");
        err.reset();
        assertThat(lm("fit", "--config", "x")).isEqualTo(2);
        assertThat(err()).contains("got 'fit'");
        err.reset();
        assertThat(lm("train", "--text", "t.txt")).isEqualTo(2);
        assertThat(err()).contains("--config is required");
        err.reset();
        assertThat(lm("train", "--config", "c.xml", "--text", "t.txt", "--epochs", "3")).isEqualTo(2);
        assertThat(err()).contains("unexpected argument '--epochs'");
        assertThat(out()).isEmpty();
    }

    @Test
    void missingFilesAndBadConfigurationsFailNamingThem() throws IOException {
        Path[] files = files(dir, "flsh");
        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString())).isEqualTo(1);
        assertThat(err()).contains("attention").contains("'flsh'").contains("flash");
        err.reset();

        assertThat(lm("train", "--config", dir.resolve("none.xml").toString(), "--text", files[1].toString()))
                .isEqualTo(1);
        assertThat(err()).contains("none.xml").contains("no such file");
        err.reset();

        Path good = files(dir, "flash")[0];
        assertThat(lm("train", "--config", good.toString(), "--text", dir.resolve("none.txt").toString()))
                .isEqualTo(1);
        assertThat(err()).contains("cannot read the text").contains("none.txt");
        err.reset();

        assertThat(lm("train", "--config", good.toString(), "--text", files[1].toString(), "--trainer", "lm"))
                .isEqualTo(1);
        assertThat(err()).contains("no component named 'lm'").contains("trainer");
        err.reset();

        Path latin1 = Files.write(dir.resolve("latin1.txt"), "caf\u00e9 au lait\n".repeat(50)
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(lm("train", "--config", good.toString(), "--text", latin1.toString())).isEqualTo(1);
        assertThat(err()).contains("cannot read the text").contains(latin1 + " is not UTF-8 text: byte 0xE9 at offset "
                + "3 (line 1, byte 4 of the line)").doesNotContain("Input length");
        err.reset();

        Path tooShort = Files.writeString(dir.resolve("short.txt"), "too short");
        assertThat(lm("train", "--config", good.toString(), "--text", tooShort.toString())).isEqualTo(1);
        assertThat(err()).contains("training failed").contains("too short");
    }
}
