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
 * {@code xformers4j predict}: a model saved by {@code train --save} predicts the wine data, and the
 * exit codes and messages for bad arguments and missing files.
 */
class PredictCommandTest {

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
