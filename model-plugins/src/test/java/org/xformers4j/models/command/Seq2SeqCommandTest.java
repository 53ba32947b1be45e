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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.models.lm.Seq2SeqModel;
import org.xformers4j.models.lm.Seq2SeqTrainer;
import org.xformers4j.models.plot.Curves;
import org.xformers4j.models.plot.MetricsFile;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j seq2seq train} on a plain class path: a tiny encoder-decoder learns to reverse
 * words from a TSV file, prints the JSON or text report of {@code lm train} with bits per target
 * character, saves a model that {@code generate} loads, and bad arguments, data and configurations
 * give the usage or failure exit code with the problem named.
 */
class Seq2SeqCommandTest {

    /** A tiny byte-level encoder-decoder trained for 100 steps, evaluated every 50. */
    private static final String CONFIG = """
            <?xml version="1.0" encoding="UTF-8"?>
            <config>
                <component name="trainer" type="org.xformers4j.models.lm.Seq2SeqTrainer">
                    <property name="architecture" value="architecture"/>
                    <property name="contextLength" value="16"/>
                    <property name="steps" value="100"/>
                    <property name="evaluateEvery" value="50"/>
                    <property name="optimization" value="optimization"/>
                    <property name="run" value="run"/>
                </component>
                <component name="optimization" type="org.xformers4j.train.Optimization">
                    <property name="learningRate" value="0.003"/>
                    <property name="beta2" value="0.95"/>
                    <property name="weightDecay" value="0.1"/>
                    <property name="warmupSteps" value="10"/>
                    <property name="finalLearningRateFraction" value="0.1"/>
                    <property name="gradientClip" value="1.0"/>
                </component>
                <component name="run" type="org.xformers4j.train.RunSettings">
                    <property name="batchSize" value="16"/>
                </component>
                <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                    <property name="attention" value="flash"/>
                    <property name="positional" value="rotary"/>
                    <property name="modelDim" value="32"/>
                    <property name="heads" value="4"/>
                    <property name="layers" value="1"/>
                    <property name="hidden" value="64"/>
                    <property name="pooling" value="MEAN"/>
                </component>
            </config>
            """;

    private static final int PAIRS = 200;
    /** The trainer holds out a tenth of the pairs, drawn with the run's seed (1 by default). */
    private static final int[] HELD_OUT = Seq2SeqTrainer.validationSample(PAIRS, 0.1f, 1);

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int seq2seq(String... args) {
        return new Seq2SeqCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** {@value #PAIRS} lowercase words of 3 to 6 letters, from a fixed seed. */
    private static List<String> words() {
        SplittableRandom rng = new SplittableRandom(3);
        List<String> words = new ArrayList<>();
        for (int i = 0; i < PAIRS; i++) {
            StringBuilder word = new StringBuilder();
            for (int n = rng.nextInt(3, 7); n > 0; n--) {
                word.append((char) ('a' + rng.nextInt(26)));
            }
            words.add(word.toString());
        }
        return words;
    }

    private Path config() throws IOException {
        return Files.writeString(dir.resolve("seq2seq.xml"), CONFIG);
    }

    /** Writes {@code word<TAB>reversed word} lines. */
    private Path pairs(List<String> words) throws IOException {
        StringBuilder tsv = new StringBuilder();
        words.forEach(w -> tsv.append(w).append('\t').append(new StringBuilder(w).reverse()).append('\n'));
        return Files.writeString(dir.resolve("pairs.tsv"), tsv);
    }

    /** A JSON value as a map, list, number or string. */
    private static Object parse(JsonParser json) throws IOException {
        switch (json.currentToken()) {
            case START_OBJECT -> {
                Map<String, Object> object = new LinkedHashMap<>();
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String name = json.currentName();
                    json.nextToken();
                    object.put(name, parse(json));
                }
                return object;
            }
            case START_ARRAY -> {
                List<Object> array = new ArrayList<>();
                while (json.nextToken() != JsonToken.END_ARRAY) {
                    array.add(parse(json));
                }
                return array;
            }
            case VALUE_STRING -> {
                return json.getText();
            }
            default -> {
                return json.getNumberValue().doubleValue();
            }
        }
    }

    /** The single line of {@code text} as a JSON object. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> jsonLine(String text) throws IOException {
        assertThat(text.lines().count()).as(text).isEqualTo(1);
        try (JsonParser json = new JsonFactory().createParser(text)) {
            assertThat(json.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            Map<String, Object> object = (Map<String, Object>) parse(json);
            assertThat(json.nextToken()).isNull();
            return object;
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void trainsSavesAndPrintsTheJsonSummaryWithBitsPerTargetCharacter() throws IOException {
        List<String> words = words();
        Path model = dir.resolve("model");

        int code = seq2seq("train", "--config", config().toString(), "--pairs", pairs(words).toString(), "--save",
                model.toString(), "--json");

        assertThat(code).as(err()).isZero();
        Map<String, Object> summary = jsonLine(out());
        assertThat(summary).containsOnlyKeys("steps", "validation_loss", "validation_bpc", "train_seconds", "curve");
        assertThat((double) summary.get("steps")).isEqualTo(100);
        List<Map<String, Object>> curve = (List<Map<String, Object>>) summary.get("curve");
        assertThat(curve).extracting(p -> p.get("step")).containsExactly(50.0, 100.0);
        assertThat(curve.get(0)).containsOnlyKeys("step", "loss", "validation_loss", "validation_bpc", "seconds");
        assertThat((double) curve.get(1).get("loss")).isLessThan((double) curve.get(0).get("loss"));
        // Nats per predicted target token (each letter and the end token) in bits per target character.
        long characters = Arrays.stream(HELD_OUT).mapToLong(i -> words.get(i).length()).sum();
        double loss = (double) summary.get("validation_loss");
        assertThat((double) summary.get("validation_bpc"))
                .isCloseTo(loss * (characters + HELD_OUT.length) / characters / Math.log(2), within(2e-4));

        assertThat(Seq2SeqModel.load(model).architecture().modelDim()).isEqualTo(32);
        out.reset();
        int generated = new GenerateCommand(ComponentRegistry.standalone()).run(new String[] {"--model",
                        model.toString(), "--prompt", "hello", "--strategy", "greedy", "--max-new-tokens", "8", "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(generated).as(err()).isZero();
        Map<String, Object> generation = jsonLine(out());
        assertThat(generation).containsEntry("strategy", "greedy");
        List<Map<String, Object>> sequences = (List<Map<String, Object>>) generation.get("sequences");
        assertThat(sequences).singleElement()
                .satisfies(s -> assertThat(s).containsOnlyKeys("text", "score", "log_probability"));

        // The text layout shows the output alone, not glued to the source.
        out.reset();
        int printed = new GenerateCommand(ComponentRegistry.standalone()).run(new String[] {"--model",
                        model.toString(), "--prompt", "hello", "--max-new-tokens", "8"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(printed).as(err()).isZero();
        assertThat(out()).isEqualTo(String.format(Locale.ROOT, "[1] %s%n    score (sum of log-probabilities): %.4f%n",
                sequences.get(0).get("text"), (double) sequences.get(0).get("score")));
    }

    @Test
    void sourcesLongerThanTheContextGetOneWarningWhenGenerating() throws IOException {
        Path model = dir.resolve("model");
        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", pairs(words()).toString(), "--save",
                model.toString(), "--json")).as(err()).isZero();
        Path sources = Files.writeString(dir.resolve("sources.txt"), "abc\nabcdefghijklmnopqrst\nabcdefghijklmnopqrstuvwxyz\n");
        out.reset();
        err.reset();                                      // training's progress lines
        int code = new GenerateCommand(ComponentRegistry.standalone()).run(new String[] {"--model", model.toString(),
                        "--input", sources.toString(), "--max-new-tokens", "4", "--json"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err()).isZero();
        assertThat(out().lines()).hasSize(3);
        assertThat(err()).isEqualTo(String.format("generate: warning: 2 of 3 prompts are longer than the model's "
                + "context of 16 tokens (the longest has 27); the model read only the first 15 tokens and </s>%n"));
    }

    @Test
    void textOutputHasOneLinePerEvaluationAndTheSummary() throws IOException {
        Path pairs = pairs(words());
        Path model = dir.resolve("model");

        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", pairs.toString(), "--save",
                model.toString())).as(err()).isZero();

        assertThat(out()).contains("training a sequence-to-sequence model on " + pairs + " (200 pairs)")
                .contains("trained 100 steps").contains("validation bits per character")
                .contains("model saved to " + model);
        assertThat(out().lines().filter(l -> l.startsWith("step ")).toList()).hasSize(2)
                .allSatisfy(l -> assertThat(l).contains("loss").contains("bpc").contains("tokens/s"));
    }

    @Test
    void usageErrorsExitTwoNamingTheProblem() {
        assertThat(seq2seq()).isEqualTo(2);
        assertThat(err()).contains("expected the subcommand 'train' or 'generate'").contains("usage: xformers4j seq2seq train");
        err.reset();
        assertThat(seq2seq("fit", "--config", "c.xml", "--pairs", "p.tsv")).isEqualTo(2);
        assertThat(err()).contains("got 'fit'");
        err.reset();
        assertThat(seq2seq("train", "--config", "c.xml")).isEqualTo(2);
        assertThat(err()).contains("--pairs is required");
        err.reset();
        assertThat(seq2seq("train", "--config", "c.xml", "--pairs", "p.tsv", "--text", "t.txt")).isEqualTo(2);
        assertThat(err()).contains("unexpected argument '--text'");
        assertThat(out()).isEmpty();
    }

    @Test
    void aBadPairsLineFailsNamingItsNumber() throws IOException {
        Path tsv = Files.writeString(dir.resolve("bad.tsv"), "abc\tcba\n\nno tab here\nxyz\tzyx\n");

        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", tsv.toString())).isEqualTo(1);

        assertThat(err()).contains("bad.tsv line 3").contains("exactly one tab").contains("'no tab here'");
        assertThat(out()).isEmpty();
    }

    @Test
    void pairsThatAreNotUtf8FailNamingTheByte() throws IOException {
        Path tsv = Files.write(dir.resolve("latin1.tsv"), "abc\tcba\ncaf\u00e9\t\u00e9fac\n"
                .getBytes(StandardCharsets.ISO_8859_1));

        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", tsv.toString())).isEqualTo(1);

        assertThat(err()).contains(tsv + " is not UTF-8 text: byte 0xE9 at offset 11 (line 2, byte 4 of the line)")
                .doesNotContain("Input length");
    }

    @Test
    void missingFilesAndConfigurationsOfAnotherTrainerFailNamingThem() throws IOException {
        Path lm = Files.writeString(dir.resolve("lm.xml"), LmCommandTest.CONFIG.replace("ATTENTION", "flash"));
        Path pairs = pairs(words());
        assertThat(seq2seq("train", "--config", lm.toString(), "--pairs", pairs.toString())).isEqualTo(1);
        assertThat(err()).contains("component 'trainer'").contains("LanguageModelTrainer")
                .contains("not a Seq2SeqTrainer");
        err.reset();

        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", dir.resolve("none.tsv").toString()))
                .isEqualTo(1);
        assertThat(err()).contains("none.tsv");
        err.reset();

        Path one = Files.writeString(dir.resolve("one.tsv"), "abc\tcba\n");
        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", one.toString())).isEqualTo(1);
        assertThat(err()).contains("training failed").contains("at least 2 pairs");
    }

    @Test
    void metricsAndPlotOfTheRun() throws IOException {
        Path metrics = dir.resolve("s2s.jsonl");
        Path png = dir.resolve("s2s.png");

        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", pairs(words()).toString(), "--metrics",
                metrics.toString(), "--plot", png.toString())).as(err()).isZero();

        Curves curves = MetricsFile.read(metrics, "s2s");
        assertThat(curves.steps()).containsExactly(50, 100);
        assertThat(Arrays.stream(curves.values("validation_bits_per_character")).min().orElseThrow()).isPositive();
        assertThat(out()).endsWith("curves plotted to " + png + "\n");
        assertThat(ImageIO.read(png.toFile())).isNotNull();
        assertThat(err()).contains("step 100/100 (100%)").contains("tokens/s");
    }

    // ------------------------------------------------------------------ image captions

    /** The tiny model of {@link #CONFIG} with an image source: 8 × 8 digits in 2 × 2 patches, learned positions. */
    private Path imageConfig() throws IOException {
        return Files.writeString(dir.resolve("captions.xml"), CONFIG
                .replace("<property name=\"architecture\" value=\"architecture\"/>",
                        "<property name=\"architecture\" value=\"architecture\"/>\n"
                                + "<property name=\"source\" value=\"source\"/>")
                .replace("<property name=\"positional\" value=\"rotary\"/>",
                        "<property name=\"positional\" value=\"learned\"/>"
                                + "<propertymap name=\"positionalOptions\"><entry key=\"maxLength\" value=\"16\"/>"
                                + "</propertymap>")
                .replace("</config>", """
                        <component name="source" type="org.xformers4j.models.lm.ImageSourceEncoder">
                            <property name="height" value="8"/>
                            <property name="width" value="8"/>
                            <property name="patchSize" value="2"/>
                            <property name="pixelScale" value="0.0625"/>
                            <property name="captionColumn" value="name"/>
                        </component>
                        </config>
                        """));
    }

    /** Digits {@code from} … {@code to} − 1 of the test resources, each captioned with its English name. */
    private Path captions(String name, int from, int to, boolean withNames) throws IOException {
        String[] names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
        List<String> lines = Files.readAllLines(Path.of("src/test/resources/data/digits.csv"));
        StringBuilder csv = new StringBuilder(lines.get(0).replace(",label", withNames ? ",name" : "")).append('\n');
        for (String line : lines.subList(from + 1, to + 1)) {
            int comma = line.lastIndexOf(',');
            csv.append(line, 0, comma);
            if (withNames) {
                csv.append(',').append(names[Integer.parseInt(line.substring(comma + 1))]);
            }
            csv.append('\n');
        }
        return Files.writeString(dir.resolve(name), csv);
    }

    @Test
    @SuppressWarnings("unchecked")
    void anImageCaptionModelTrainsFromACsvAndCaptionsHeldOutImagesWithTheirExactMatch() throws IOException {
        Path model = dir.resolve("captions");
        assertThat(seq2seq("train", "--config", imageConfig().toString(), "--pairs",
                captions("train.csv", 0, 300, true).toString(), "--save", model.toString(), "--json")).as(err()).isZero();
        assertThat(Seq2SeqModel.load(model).sourceEncoder().kind()).isEqualTo("image");

        out.reset();
        Path test = captions("test.csv", 300, 340, true);
        assertThat(seq2seq("generate", "--model", model.toString(), "--input", test.toString(), "--max-new-tokens",
                "8")).as(err()).isZero();
        List<String> lines = out().lines().toList();
        assertThat(lines).hasSize(41);
        List<String> references = Files.readAllLines(test).stream().skip(1).map(l -> l.substring(l.lastIndexOf(',') + 1))
                .toList();
        long right = assertOutputs(lines.subList(0, 40), references, lines.get(40));
        out.reset();
        assertThat(seq2seq("generate", "--model", model.toString(), "--input", test.toString(), "--json"))
                .as(err()).isZero();
        Map<String, Object> json = jsonLine(out());
        assertThat(json).containsEntry("examples", 40.0).containsEntry("exact_match", right / 40.0);
        assertThat((List<Map<String, Object>>) json.get("outputs")).hasSize(40)
                .allSatisfy(o -> assertThat(o).containsOnlyKeys("row", "text", "reference"));

        // images without captions: one line each, no score
        out.reset();
        assertThat(seq2seq("generate", "--model", model.toString(), "--input",
                captions("unnamed.csv", 340, 345, false).toString())).as(err()).isZero();
        assertThat(out().lines().toList()).hasSize(5).allSatisfy(l -> assertThat(l).matches("\\d+\t[^\t]*"));

        // a file without the pixel columns, and a text model's generate given an image model
        assertThat(seq2seq("generate", "--model", model.toString(), "--input", pairs(words()).toString()))
                .isEqualTo(1);
        assertThat(err()).contains("has no column 'p0'");
        err.reset();
        assertThat(new GenerateCommand(ComponentRegistry.standalone()).run(new String[] {"--model", model.toString(),
                        "--prompt", "seven"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))).isEqualTo(1);
        assertThat(err()).contains("captions images of 8 × 8 × 1 values, got a text source");
    }

    @Test
    void generateWritesTheTargetsOfATextModelsPairsWithTheirExactMatch() throws IOException {
        Path model = dir.resolve("reverser");
        List<String> words = words();
        assertThat(seq2seq("train", "--config", config().toString(), "--pairs", pairs(words).toString(), "--save",
                model.toString())).as(err()).isZero();
        out.reset();

        assertThat(seq2seq("generate", "--model", model.toString(), "--input", pairs(words.subList(0, 7)).toString(),
                "--strategy", "beam", "--option", "numBeams=2", "--max-new-tokens", "8")).as(err()).isZero();

        List<String> lines = out().lines().toList();
        assertThat(lines).hasSize(8);
        assertOutputs(lines.subList(0, 7), words.subList(0, 7).stream()
                .map(w -> new StringBuilder(w).reverse().toString()).toList(), lines.get(7));
        assertThat(seq2seq("generate", "--model", model.toString())).isEqualTo(2);
        assertThat(err()).contains("usage: xformers4j seq2seq train").contains("xformers4j seq2seq generate");
    }

    /**
     * Checks the lines of {@code seq2seq generate}: line i is {@code i<TAB>OUTPUT<TAB>REFERENCE<TAB>right|wrong},
     * right exactly when the output is the reference, and the summary counts the right ones.
     *
     * @return the number of right outputs
     */
    private static long assertOutputs(List<String> lines, List<String> references, String summary) {
        long right = 0;
        for (int i = 0; i < lines.size(); i++) {
            String[] cells = lines.get(i).split("\t", -1);
            assertThat(cells).hasSize(4);
            assertThat(cells[0]).isEqualTo(Integer.toString(i + 1));
            assertThat(cells[2]).isEqualTo(references.get(i));
            assertThat(cells[3]).isEqualTo(cells[1].equals(cells[2]) ? "right" : "wrong");
            right += cells[3].equals("right") ? 1 : 0;
        }
        assertThat(summary).isEqualTo(String.format(Locale.ROOT, "exact match: %d of %d (%.4f)", right, lines.size(),
                right / (double) lines.size()));
        return right;
    }
}
