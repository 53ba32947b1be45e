package org.xformers4j.models.command;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.ComponentRegistry;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code xformers4j predict}: a model saved by {@code train --save} predicts the wine data; input
 * whose columns do not match the model's features, and empty, foreign or damaged model files, are
 * refused with messages naming the file; the exit codes and messages for bad arguments.
 */
class PredictCommandTest {

    private static final Path WINE = Path.of("../examples/data/wine.csv");
    private static final Path DIGITS = Path.of("../examples/data/digits.csv");
    private static final Path WINE_CONFIG = Path.of("../examples/wine-classifier.xml");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int predict(String... args) {
        return new PredictCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void modelSavedByTrainPredictsEveryRow() throws Exception {
        Path model = dir.resolve("wine.tribuo");
        Path wine = Path.of("../examples/data/wine.csv");
        int trained = new TrainCommand(ComponentRegistry.standalone()).run(new String[]{
                        "--config", "../examples/wine-classifier.xml", "--train", wine.toString(), "--json",
                        "--save", model.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(trained).as(err.toString(StandardCharsets.UTF_8)).isZero();

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = new PredictCommand(ComponentRegistry.standalone()).run(
                new String[]{"--model", model.toString(), "--input", wine.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        List<String> truth = Files.readAllLines(wine).stream().skip(1).map(l -> l.substring(l.lastIndexOf(',') + 1))
                .toList();
        assertThat(lines.get(0)).isEqualTo("row,label,probability");
        assertThat(lines).hasSize(truth.size() + 1);
        int correct = 0;
        for (int i = 0; i < truth.size(); i++) {
            String[] cells = lines.get(i + 1).split(",");
            assertThat(cells[0]).isEqualTo(Integer.toString(i + 1));
            assertThat(Double.parseDouble(cells[2])).isBetween(0.0, 1.0);
            correct += cells[1].equals(truth.get(i)) ? 1 : 0;
        }
        assertThat(correct).isGreaterThanOrEqualTo((int) (0.9 * truth.size()));
    }

    @Test
    void inputThatLacksModelFeaturesIsRefusedNamingThemAndUnknownColumnsAreWarnedAbout() throws Exception {
        Path model = quickWineModel();
        List<String> wine = Files.readAllLines(WINE);
        Path dropped = Files.write(dir.resolve("dropped.csv"), wine.stream()
                .map(line -> line.substring(line.indexOf(',') + 1)).toList());       // without 'alcohol'
        Path extra = Files.write(dir.resolve("extra.csv"), wine.stream()
                .map(line -> line + (line.startsWith("alcohol") ? ",colour" : ",1")).toList());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(predict(out, "--model", model.toString(), "--input", DIGITS.toString())).isEqualTo(1);
        assertThat(predict(out, "--model", model.toString(), "--input", dropped.toString())).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("predict: " + DIGITS + ": lacks 13 of the model's 13 columns: alcalinity_of_ash, alcohol, ash")
                .contains("predict: " + dropped + ": lacks 1 of the model's 13 columns: alcohol (the file's columns: "
                        + "malic_acid,");

        err.reset();
        assertThat(predict(out, "--model", model.toString(), "--input", extra.toString())).as(err.toString()).isZero();
        assertThat(err.toString(StandardCharsets.UTF_8))
                .isEqualTo("predict: warning: " + extra + ": column colour is not a feature of the model and is ignored\n");
        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        assertThat(predict(plain, "--model", model.toString(), "--input", WINE.toString())).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(plain.toString(StandardCharsets.UTF_8));
    }

    @Test
    void emptyForeignAndDamagedModelFilesAreNamedWithWhatIsWrong() throws Exception {
        Path model = quickWineModel();
        Path empty = Files.write(dir.resolve("empty.tribuo"), new byte[0]);
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length - 40] ^= 1;                                                // a weight's bit
        Path flipped = Files.write(dir.resolve("flipped.tribuo"), bytes);

        assertThat(predict("--model", empty.toString(), "--input", WINE.toString())).isEqualTo(1);
        assertThat(predict("--model", WINE.toString(), "--input", WINE.toString())).isEqualTo(1);
        assertThat(predict("--model", flipped.toString(), "--input", WINE.toString())).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("predict: model " + empty + ": the file is empty (0 bytes), not a Tribuo model")
                .contains("predict: model " + WINE + ": not a Tribuo model file")
                .contains("predict: model " + flipped + ": cannot be loaded as a ")
                .contains("SHA-256 checksum does not match")
                .doesNotContain("Failed to find class \n").doesNotContain("\tat ");
    }

    /** The wine example trained for 2 epochs and saved into the temporary folder. */
    private Path quickWineModel() throws Exception {
        Path config = Files.writeString(dir.resolve("quick.xml"), Files.readString(WINE_CONFIG)
                .replace("<property name=\"epochs\" value=\"30\"/>", "<property name=\"epochs\" value=\"2\"/>"));
        Path model = dir.resolve("quick.tribuo");
        int trained = new TrainCommand(ComponentRegistry.standalone()).run(new String[]{"--config", config.toString(),
                        "--train", WINE.toString(), "--json", "--save", model.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(trained).as(err.toString(StandardCharsets.UTF_8)).isZero();
        return model;
    }

    private int predict(ByteArrayOutputStream out, String... args) {
        return new PredictCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(predict()).isEqualTo(2);
        assertThat(predict("--model", "m.tribuo")).isEqualTo(2);
        assertThat(predict("--model", "m.tribuo", "--input", "x.csv", "--json")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--model is required").contains("--input is required")
                .contains("unexpected argument '--json'").contains("usage: xformers4j predict");
    }

    @Test
    void missingOrUnreadableModelFails() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.tribuo"), "not a model");

        assertThat(predict("--model", dir.resolve("none.tribuo").toString(), "--input", "x.csv")).isEqualTo(1);
        assertThat(predict("--model", garbage.toString(), "--input", "x.csv")).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("none.tribuo: no such file").contains("predict: ");
    }
}
