package org.xformers4j.models.command;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.ComponentRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A text classifier through the commands a user runs: {@code train --text --baseline}, then
 * {@code evaluate} and {@code predict} on the saved model, on CSV and TSV files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TextCommandsTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    private static final String CONFIG = """
            <?xml version="1.0" encoding="UTF-8"?>
            <config>
                <component name="trainer" type="org.xformers4j.models.tribuo.TransformerTrainer">
                    <property name="encoder" value="encoder"/>
                    <property name="head" value="head"/>
                    <property name="architecture" value="architecture"/>
                    <property name="epochs" value="6"/>
                    <property name="run" value="run"/>
                </component>
                <component name="run" type="org.xformers4j.train.RunSettings">
                    <property name="batchSize" value="8"/>
                    <property name="seed" value="3"/>
                </component>
                <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                    <property name="attention" value="full"/>
                    <property name="positional" value="rotary"/>
                    <property name="modelDim" value="16"/>
                    <property name="heads" value="2"/>
                    <property name="layers" value="1"/>
                </component>
                <component name="encoder" type="org.xformers4j.models.tribuo.TextTokens">
                    <property name="maxLength" value="8"/>
                </component>
                <component name="head" type="org.xformers4j.models.tribuo.LabelHead"/>
            </config>
            """;

    @TempDir
    Path dir;

    private Path config;
    private Path data;
    private Path model;
    private String trained;

    /** Reviews whose label is said by one word, "good" or "bad", among shared words; an id column "key". */
    @BeforeAll
    void trainOnce(@TempDir Path shared) throws IOException {
        config = Files.writeString(shared.resolve("text.xml"), CONFIG);
        String[] fillers = {"the film", "a plot, with", "its cast", "the ending", "music and", "my friends said"};
        List<String> lines = new ArrayList<>(List.of("key,label,review,length"));
        for (int i = 0; i < 80; i++) {
            boolean good = i % 2 == 0;
            String review = fillers[i % fillers.length] + " was " + (good ? "good" : "bad") + " "
                    + fillers[(i / 2) % fillers.length];
            lines.add("r" + i + "," + (good ? "pos" : "neg") + ",\"" + review + "\"," + review.length());
        }
        data = Files.write(shared.resolve("reviews.csv"), lines);
        model = shared.resolve("reviews.tribuo");
        Run run = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", data.toString(),
                "--text", "review", "--id", "key", "--baseline", "--save", model.toString(), "--json");
        assertThat(run.code()).as(run.err()).isZero();
        trained = run.out();
    }

    @Test
    void trainReportsTheTransformerBesideTribuosLogisticRegressionOnTheSameSplit() {
        assertThat(number(trained, "examples")).isEqualTo(64);                      // 80% of 80, stratified
        assertThat(number(trained, "accuracy")).isGreaterThanOrEqualTo(0.9);
        assertThat(number(trained, "baseline_accuracy")).isGreaterThanOrEqualTo(0.9);
        assertThat(number(trained, "baseline_macro_f1")).isBetween(0.0, 1.0);
    }

    @Test
    void evaluatePrintsTribuosEvaluationAsTextAndAsOneJsonObject() {
        Run json = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--id", "key", "--json");
        assertThat(json.code()).as(json.err()).isZero();
        assertThat(json.err()).isEmpty();
        assertThat(json.out().lines().count()).isEqualTo(1);
        String evaluation = json.out();
        assertThat(number(evaluation, "examples")).isEqualTo(80);
        assertThat(evaluation).contains("\"labels\":[\"neg\",\"pos\"]");
        Matcher rows = Pattern.compile("\"rows\":\\[\\[(\\d+),(\\d+)],\\[(\\d+),(\\d+)]]").matcher(evaluation);
        assertThat(rows.find()).as(evaluation).isTrue();
        long[] cells = new long[4];
        for (int i = 0; i < 4; i++) {
            cells[i] = Long.parseLong(rows.group(i + 1));
        }
        List<Long> supports = Pattern.compile("\"support\":(\\d+)").matcher(evaluation).results()
                .map(m -> Long.parseLong(m.group(1))).toList();
        assertThat(supports).containsExactly(cells[0] + cells[1], cells[2] + cells[3]);   // rows: true labels
        assertThat(cells[0] + cells[1] + cells[2] + cells[3]).isEqualTo(80);
        assertThat(number(evaluation, "accuracy")).isCloseTo((cells[0] + cells[3]) / 80.0, within(1e-9));

        Run text = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--id", "key");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).contains("evaluated on 80 examples").contains("Accuracy").contains("Balanced Error Rate")
                .contains("neg").contains("pos");
    }

    @Test
    void predictReadsTheTextColumnTheModelNamesKeepsIdsAndPrintsEveryProbability() throws IOException {
        // The same rows as TSV, without the label and with another column order: found by name, the text
        // column from the model's features (no --text), the separator from the extension.
        List<String> tsv = new ArrayList<>(List.of("review\tlength\tkey"));
        for (String line : Files.readAllLines(data).subList(1, 81)) {
            String[] cells = line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)");
            tsv.add(cells[2].replace("\"", "") + "\t" + cells[3] + "\t" + cells[0]);
        }
        Path input = Files.write(dir.resolve("reviews.tsv"), tsv);
        Run run = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", input.toString(),
                "--id", "key", "--all-probabilities");
        assertThat(run.code()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(81);
        assertThat(lines.get(0)).isEqualTo("key,label,probability,p(neg),p(pos)");
        int agree = 0;
        for (int i = 1; i <= 80; i++) {
            String[] cells = lines.get(i).split(",");
            assertThat(cells[0]).isEqualTo("r" + (i - 1));
            double neg = Double.parseDouble(cells[3]);
            double pos = Double.parseDouble(cells[4]);
            assertThat(neg + pos).isCloseTo(1.0, within(1e-5));
            assertThat(Double.parseDouble(cells[2])).isEqualTo(cells[1].equals("pos") ? pos : neg);
            agree += cells[1].equals((i - 1) % 2 == 0 ? "pos" : "neg") ? 1 : 0;
        }
        assertThat(agree).isGreaterThanOrEqualTo(72);

        Run other = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", input.toString(),
                "--text", "length");
        assertThat(other.code()).isEqualTo(1);
        assertThat(other.err()).contains("--text length: the model reads its text from column 'review'");
    }

    @Test
    void predictWritesItsCsvAtomicallyOrNotAtAll() throws IOException {
        Path output = dir.resolve("predictions.csv");
        Run run = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--output", output.toString());
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo("predictions written to " + output + "\n");
        List<String> written = Files.readAllLines(output);
        assertThat(written).hasSize(81).first().isEqualTo("row,label,probability");
        assertThat(written.get(80)).startsWith("80,");

        List<String> lines = new ArrayList<>(Files.readAllLines(data));
        lines.set(60, lines.get(60).replaceAll(",\\d+$", ",many"));                  // row 60: a bad number
        Path bad = Files.write(dir.resolve("bad.csv"), lines);
        Run failed = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", bad.toString(),
                "--output", output.toString());
        assertThat(failed.code()).isEqualTo(1);
        assertThat(failed.err()).contains(bad + " row 60, column 'length': not a number: 'many'");
        assertThat(Files.readAllLines(output)).isEqualTo(written);                  // the earlier file, untouched
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).noneMatch(name -> name.endsWith(".tmp"));
        }
    }

    @Test
    void tribuosTextFormatTrainsAndEvaluatesAndItsMalformedLinesAreNamed() throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(data).subList(1, 81)) {
            String[] cells = line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)");
            lines.add(cells[1] + "##" + cells[2].replace("\"", ""));
        }
        lines.add(40, "");                                                              // blank lines are skipped
        Path text = Files.write(dir.resolve("reviews.txt"), lines);
        Path textModel = dir.resolve("lines.tribuo");
        Run trainedOnLines = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", text.toString(),
                "--format", "text", "--save", textModel.toString(), "--json");
        assertThat(trainedOnLines.code()).as(trainedOnLines.err()).isZero();
        assertThat(number(trainedOnLines.out(), "examples")).isEqualTo(64);
        Run evaluated = run(new EvaluateCommand(REGISTRY), "--model", textModel.toString(), "--input", text.toString(),
                "--format", "text", "--json");
        assertThat(evaluated.code()).as(evaluated.err()).isZero();
        assertThat(number(evaluated.out(), "examples")).isEqualTo(80);
        assertThat(number(evaluated.out(), "accuracy")).isGreaterThanOrEqualTo(0.9);
        Run predicted = run(new PredictCommand(REGISTRY), "--model", textModel.toString(), "--input", text.toString(),
                "--format", "text", "--all-probabilities");
        assertThat(predicted.code()).as(predicted.err()).isZero();
        List<String> predictions = predicted.out().lines().toList();
        assertThat(predictions).hasSize(81).first().isEqualTo("line,label,probability,p(neg),p(pos)");
        assertThat(predictions.get(40)).startsWith("40,");
        assertThat(predictions.get(41)).startsWith("42,");                           // line 41 is blank
        long right = 0;
        for (String prediction : predictions.subList(1, 81)) {
            int number = Integer.parseInt(prediction.split(",")[0]);
            String truth = lines.get(number - 1).substring(0, 3);
            right += prediction.split(",")[1].equals(truth) ? 1 : 0;
        }
        assertThat(right).isGreaterThanOrEqualTo(72);
        List<String> unknown = new ArrayList<>(lines);
        unknown.set(44, "maybe##the film was good");
        Path unknownLabel = Files.write(dir.resolve("unknown.txt"), unknown);
        Run unknownEvaluated = run(new EvaluateCommand(REGISTRY), "--model", textModel.toString(), "--input",
                unknownLabel.toString(), "--format", "text");
        assertThat(unknownEvaluated.code()).isEqualTo(1);
        assertThat(unknownEvaluated.err()).contains(unknownLabel + " line 45: label 'maybe' is not among the training "
                + "labels [neg, pos]");
        Run predictedNumbers = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input",
                text.toString(), "--format", "text");
        assertThat(predictedNumbers.code()).isEqualTo(1);
        assertThat(predictedNumbers.err()).contains("a file of LABEL##text lines holds only a text");
        // The text column of Tribuo's format is "text": a CSV with that column serves the same model.
        Run csv = run(new EvaluateCommand(REGISTRY), "--model", textModel.toString(), "--input",
                Files.write(dir.resolve("as.csv"), List.of("label,text", "pos,the film was good", "neg,bad")).toString());
        assertThat(csv.code()).as(csv.err()).isZero();

        Run numbers = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", text.toString(),
                "--format", "text");
        assertThat(numbers.code()).isEqualTo(1);
        assertThat(numbers.err()).contains(text + ": a file of LABEL##text lines holds only a text, and the model also "
                + "reads 18 other features: length, review@,, review@a");
        for (String[] bad : new String[][] {{"pos the film", "no '##' between a label and a text"},
                {"##the film", "an empty label"}, {"pos##  ", "an empty text"}}) {
            List<String> broken = new ArrayList<>(lines);
            broken.set(6, bad[0]);
            Path file = Files.write(dir.resolve("broken.txt"), broken);
            Run refused = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", file.toString(),
                    "--format", "text");
            assertThat(refused.code()).isEqualTo(1);
            assertThat(refused.err()).contains(file + " line 7: " + bad[1]);
        }
        Run empty = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train",
                Files.write(dir.resolve("empty.txt"), List.of("", " ")).toString(), "--format", "text");
        assertThat(empty.err()).contains("empty.txt: empty, expected lines of LABEL##text");
        Files.write(dir.resolve("latin.txt"), "pos##caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        Run latin = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train",
                dir.resolve("latin.txt").toString(), "--format", "text");
        assertThat(latin.err()).contains("latin.txt: not UTF-8 text");
        Run format = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", text.toString(),
                "--format", "xml");
        assertThat(format.err()).contains("--format must be one of [csv, text], got 'xml'");
        Run columnsOfLines = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", text.toString(),
                "--format", "text", "--text", "review");
        assertThat(columnsOfLines.err()).contains("has no columns to name with --text, --categorical, --id or "
                + "--separator");
    }

    @Test
    void badColumnsAndLabelsAreNamed() throws IOException {
        Run noText = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", data.toString(),
                "--text", "body");
        assertThat(noText.code()).isEqualTo(1);
        assertThat(noText.err()).contains(data + ": no column 'body' (columns: key, label, review, length)");
        Run textAsNumber = run(new TrainCommand(REGISTRY), "--config", config.toString(), "--train", data.toString(),
                "--id", "key");
        assertThat(textAsNumber.code()).isEqualTo(1);
        assertThat(textAsNumber.err()).contains(data + " row 1, column 'review': not a number: 'the film was good "
                + "the film' (a column of text, of categories or of row names? name it with --text, --categorical "
                + "or --id)");

        List<String> lines = new ArrayList<>(Files.readAllLines(data));
        lines.set(3, lines.get(3).replace(",pos,", ",maybe,"));
        Path unknown = Files.write(dir.resolve("unknown.csv"), lines);
        Run evaluated = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", unknown.toString(),
                "--id", "key");
        assertThat(evaluated.code()).isEqualTo(1);
        assertThat(evaluated.err()).contains(unknown + " row 3, column 'label': label 'maybe' is not among the "
                + "training labels [neg, pos]");
        Run noLabel = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--label", "class");
        assertThat(noLabel.code()).isEqualTo(1);
        assertThat(noLabel.err()).contains(data + ": no label column 'class'");
        Run usage = run(new EvaluateCommand(REGISTRY), "--model", model.toString());
        assertThat(usage.code()).isEqualTo(2);
        assertThat(usage.err()).contains("--input is required").contains("usage: xformers4j evaluate");
    }

    private record Run(int code, String out, String err) {
    }

    /** The number of the first field {@code name} of a JSON text. */
    private static double number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\\s*([-0-9.eE]+)").matcher(json);
        assertThat(m.find()).as(name + " in " + json).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static Run run(Command command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = command.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
