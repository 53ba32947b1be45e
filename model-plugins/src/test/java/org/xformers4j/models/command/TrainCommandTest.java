package org.xformers4j.models.command;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.models.plot.Curves;
import org.xformers4j.models.plot.MetricsFile;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.ComponentRegistry;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.atIndex;

/**
 * {@code xformers4j train} on a plain class path (components from the standalone registry): the
 * shipped wine example end to end, the checks made before training (test labels, the save path),
 * the atomic save, and the exit codes and messages for bad configurations, bad data and bad
 * arguments.
 */
class TrainCommandTest {

    private static final Path WINE_CONFIG = Path.of("../examples/wine-classifier.xml");
    private static final Path WINE_DATA = Path.of("../examples/data/wine.csv");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int train(String... args) {
        return new TrainCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void wineExampleReachesAccuracyAndPrintsExactlyTheJsonObject() {
        int code = train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--json");

        assertThat(code).as(err()).isZero();
        Matcher json = Pattern.compile("\\{\"accuracy\":([0-9.]+), \"macro_f1\":([0-9.]+), "
                + "\"train_seconds\":([0-9.]+), \"examples\":(\\d+)}\n").matcher(out());
        assertThat(json.matches()).as(out()).isTrue();
        assertThat(Double.parseDouble(json.group(1))).isGreaterThanOrEqualTo(0.9);
        assertThat(Double.parseDouble(json.group(2))).isGreaterThanOrEqualTo(0.85);
        assertThat(Integer.parseInt(json.group(4))).isEqualTo(142);     // 80% of 59, 71 and 48 wines
    }

    @Test
    void textOutputIsTribuosEvaluationWithTheConfusionMatrix() throws Exception {
        Path fast = config("<property name=\"epochs\" value=\"30\"/>", "<property name=\"epochs\" value=\"2\"/>");

        assertThat(train("--config", fast.toString(), "--train", WINE_DATA.toString(), "--test", WINE_DATA.toString()))
                .as(err()).isZero();
        assertThat(out()).contains("trained on 178 examples").contains("evaluated on 178")
                .contains("Accuracy").contains("class_0").contains("class_1").contains("class_2");
    }

    @Test
    void unknownAttentionFailsNamingTheClosestComponent() throws Exception {
        Path typo = config("value=\"full\"", "value=\"fulll\"");

        assertThat(train("--config", typo.toString(), "--train", WINE_DATA.toString())).isEqualTo(1);
        assertThat(err()).contains("attention").contains("fulll").contains("full");
        assertThat(out()).isEmpty();
    }

    @Test
    void missingTrainerComponentNamesTheComponents() {
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--trainer", "sgd"))
                .isEqualTo(1);
        assertThat(err()).contains("'sgd'").contains("trainer").contains("encoder");
    }

    @Test
    void missingLabelColumnIsNamed() {
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--label", "cultivar"))
                .isEqualTo(1);
        assertThat(err()).contains("'cultivar'").contains("proline").contains("--label");
    }

    @Test
    void emptyDataFails() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.csv"), "");
        Path headerOnly = Files.writeString(dir.resolve("header.csv"), "a,b,label\n");

        assertThat(train("--config", WINE_CONFIG.toString(), "--train", empty.toString())).isEqualTo(1);
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", headerOnly.toString())).isEqualTo(1);
        assertThat(err()).contains("empty.csv: empty").contains("header.csv: empty");
    }

    @Test
    void nanFeatureIsNamedWithItsRow() throws Exception {
        Path nan = Files.writeString(dir.resolve("nan.csv"), "a,b,label\n1,2,x\n3,NaN,y\n");

        assertThat(train("--config", WINE_CONFIG.toString(), "--train", nan.toString())).isEqualTo(1);
        assertThat(err()).contains("nan.csv row 2, column 'b': NaN");
    }

    @Test
    void testLabelsUnseenInTrainingAndABadSavePathFailBeforeTraining() throws Exception {
        List<String> wine = Files.readAllLines(WINE_DATA);
        Path test = Files.write(dir.resolve("test.csv"), List.of(wine.get(0), wine.get(1), wine.get(2)
                .replace("class_0", "class_9")));
        Path nowhere = dir.resolve("no-such-dir").resolve("wine.tribuo");

        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--test",
                test.toString())).isEqualTo(1);
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--save",
                nowhere.toString())).isEqualTo(1);

        assertThat(out()).as("nothing was trained").isEmpty();
        assertThat(err()).contains("train: " + test + " row 2, column 'label': label 'class_9' is not among the "
                        + "training labels [class_0, class_1, class_2]")
                .contains("train: model " + nowhere + ": the directory " + nowhere.getParent() + " does not exist")
                .doesNotContain("\tat ");
    }

    @Test
    void saveReplacesAnExistingModelWholeWithOrdinaryPermissions() throws Exception {
        Path fast = config("<property name=\"epochs\" value=\"30\"/>", "<property name=\"epochs\" value=\"1\"/>");
        Path model = Files.writeString(dir.resolve("wine.tribuo"), "an older model");
        Path leftover = Files.writeString(dir.resolve(".wine.tribuo.1234.tmp"), "from a crashed save");
        Path ordinary = Files.writeString(dir.resolve("ordinary.txt"), "any file");

        assertThat(train("--config", fast.toString(), "--train", WINE_DATA.toString(), "--save", model.toString()))
                .as(err()).isZero();

        assertThat(out()).endsWith("model saved to " + model + "\n");
        assertThat(TribuoModelFiles.load(model).getFeatureIDMap().size()).isEqualTo(13);
        assertThat(Files.getPosixFilePermissions(model)).isEqualTo(Files.getPosixFilePermissions(ordinary));
        assertThat(leftover).doesNotExist();
    }

    @Test
    void aTransformerRunWritesItsMetricsAndPlotAndShowsAProgressLinePerEpoch() throws Exception {
        Path fast = config("<property name=\"epochs\" value=\"30\"/>", "<property name=\"epochs\" value=\"2\"/>");
        Path metrics = dir.resolve("wine.jsonl");
        Path png = dir.resolve("wine.png");

        assertThat(train("--config", fast.toString(), "--train", WINE_DATA.toString(), "--metrics", metrics.toString(),
                "--plot", png.toString(), "--json")).as(err()).isZero();

        assertThat(out().lines()).as("--json prints its object alone").hasSize(1);
        // 121 training examples (142 less the 15% held out) in batches of 16: 8 steps an epoch
        Curves curves = MetricsFile.read(metrics, "wine");
        assertThat(curves.steps()).containsExactly(8, 16);
        assertThat(curves.values("epoch")).containsExactly(1, 2);
        assertThat(Arrays.stream(curves.values("validation_loss")).min().orElseThrow()).isPositive();
        assertThat(ImageIO.read(png.toFile())).isNotNull();
        // a line per epoch, and lines of the progress between them on a slow machine
        assertThat(err().lines().filter(l -> !l.contains(", ETA ")).toList()).hasSize(2)
                .satisfies(l -> assertThat(l).matches("epoch 1/2  step 8/16  loss \\S+  validation loss \\S+  "
                        + "[\\d,]+ examples/s  \\d+:\\d\\d"), atIndex(0))
                .satisfies(l -> assertThat(l).startsWith("epoch 2/2  step 16/16  loss "), atIndex(1));
        assertThat(err().lines().filter(l -> l.contains(", ETA "))).allSatisfy(l -> assertThat(l)
                .matches("epoch [12]/2  step \\d+/16  loss .* examples/s  \\d+:\\d\\d, ETA .*"));
    }

    @Test
    void metricsNeedATrainerThatRunsTheTrainingLoop() throws Exception {
        Path logistic = Files.writeString(dir.resolve("logistic.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                    <component name="trainer" type="org.tribuo.classification.sgd.linear.LogisticRegressionTrainer"/>
                </config>
                """);
        Path metrics = dir.resolve("m.jsonl");

        assertThat(train("--config", logistic.toString(), "--train", WINE_DATA.toString(), "--metrics",
                metrics.toString())).isEqualTo(1);
        assertThat(err()).contains("--metrics and --plot need a TransformerTrainer")
                .contains("org.tribuo.classification.sgd.linear.LogisticRegressionTrainer");
        assertThat(metrics).doesNotExist();
        assertThat(out()).isEmpty();
    }

    @Test
    void aSingleClassTrainingFileIsRefused() throws Exception {
        Path one = Files.writeString(dir.resolve("one.csv"), "a,b,label\n1,2,x\n3,4,x\n");

        assertThat(train("--config", WINE_CONFIG.toString(), "--train", one.toString())).isEqualTo(1);
        assertThat(err()).contains(one + ": column 'label' holds one class, 'x', in all 2 rows");
    }

    @Test
    void missingFilesFail() {
        assertThat(train("--config", "no-such.xml", "--train", WINE_DATA.toString())).isEqualTo(1);
        assertThat(err()).contains("no-such.xml: no such file");
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(train()).isEqualTo(2);
        assertThat(err()).contains("--config is required").contains("usage: xformers4j train");
        assertThat(train("--config", WINE_CONFIG.toString())).isEqualTo(2);
        assertThat(err()).contains("--train is required");
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--epochs", "3"))
                .isEqualTo(2);
        assertThat(err()).contains("unexpected argument '--epochs'");
        assertThat(train("--config", "--train", WINE_DATA.toString())).isEqualTo(2);
        assertThat(err()).contains("--config needs a value");
    }

    /** The wine example with {@code from} replaced by {@code to}, written to the temporary folder. */
    private Path config(String from, String to) throws Exception {
        String text = Files.readString(WINE_CONFIG);
        assertThat(text).contains(from);
        return Files.writeString(dir.resolve("wine.xml"), text.replace(from, to));
    }
}
