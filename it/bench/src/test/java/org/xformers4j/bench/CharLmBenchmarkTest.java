package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The xformers4j half of the side-by-side benchmark runs on the example's config and prints what the report reads. */
class CharLmBenchmarkTest {

    private static final Path CONFIG = Path.of("..", "..", "examples", "char-lm.xml").toAbsolutePath().normalize();

    @Test
    void trainsTheExampleOnTheOneLoopAndReportsTheStepsAfterTheWarmUp(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "Call me Ishmael. Some years ago, never mind how long precisely. ".repeat(40));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CharLmBenchmark.train(CONFIG, text, 3, 1, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Matcher m = Pattern.compile("\\{\"engine\":\"xformers4j\",\"workload\":\"train\",\"threads\":[0-9]+,"
                + "\"steps\":\"2-3\",\"tokens_per_s\":([0-9.]+),\"final_loss\":([0-9.]+)}")
                .matcher(out.toString(StandardCharsets.UTF_8).strip());
        assertThat(m.matches()).as(out.toString(StandardCharsets.UTF_8)).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isPositive();
        assertThat(Double.parseDouble(m.group(2))).as("a byte model's first losses").isBetween(1.0, 10.0);
        assertThatThrownBy(() -> CharLmBenchmark.train(CONFIG, text, 3, 3, System.out, System.err))
                .hasMessageContaining("warm-up steps must be in [1, steps)");
    }

    @Test
    void generatesGreedilyAtBatchOneAndEightAndByBeamSearch() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CharLmBenchmark.generate(CONFIG, 1, 0, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8).lines()
                .map(line -> line.replaceAll("\"(seconds|tokens_per_s|threads)\":[0-9.]+", "")))
                .containsExactly(
                        "{\"engine\":\"xformers4j\",\"workload\":\"generate\",\"strategy\":\"greedy\",\"batch\":1,,"
                                + "\"prompt\":32,\"new_tokens\":256,,}",
                        "{\"engine\":\"xformers4j\",\"workload\":\"generate\",\"strategy\":\"greedy\",\"batch\":8,,"
                                + "\"prompt\":32,\"new_tokens\":256,,}",
                        "{\"engine\":\"xformers4j\",\"workload\":\"generate\",\"strategy\":\"beam4\",\"batch\":1,,"
                                + "\"prompt\":32,\"new_tokens\":256,,}");
    }
}
