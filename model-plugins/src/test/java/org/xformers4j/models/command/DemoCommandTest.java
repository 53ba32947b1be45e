package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j demo} on a plain class path, over a copy of the examples whose classifier and
 * language model are shrunk to a few seconds: every step runs in order with the shipped data, and
 * the temporary model is removed afterwards.
 */
class DemoCommandTest {

    private static final Path EXAMPLES = Path.of("../examples");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final List<String[]> infoCalls = new ArrayList<>();

    private int demo(String... args) {
        Function<String[], Integer> info = a -> {
            infoCalls.add(a);
            return 0;
        };
        return new DemoCommand(ComponentRegistry.standalone(), info).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    /** The shipped examples with 2 classifier epochs and 20 language-model steps, and 20 KB of the text. */
    private Path smallExamples() throws IOException {
        Path examples = Files.createDirectories(dir.resolve("examples"));
        Files.createDirectories(examples.resolve("data"));
        Files.writeString(examples.resolve("digits-classifier.xml"),
                Files.readString(EXAMPLES.resolve("digits-classifier.xml"))
                        .replace("name=\"epochs\" value=\"30\"", "name=\"epochs\" value=\"2\""));
        Files.copy(EXAMPLES.resolve("data/digits.csv"), examples.resolve("data/digits.csv"));
        String config = Files.readString(EXAMPLES.resolve("char-lm.xml"));
        assertThat(config).contains("name=\"demo-trainer\" inherit=\"trainer\"");
        Files.writeString(examples.resolve("char-lm.xml"), config
                .replace("name=\"steps\" value=\"1000\"", "name=\"steps\" value=\"20\"")
                .replace("name=\"warmupSteps\" value=\"100\"", "name=\"warmupSteps\" value=\"5\"")
                .replace("name=\"evaluationWindows\" value=\"50\"", "name=\"evaluationWindows\" value=\"4\"")
                .replace("name=\"evaluateEvery\" value=\"100\"", "name=\"evaluateEvery\" value=\"10\"")
                .replace("name=\"modelDim\" value=\"128\"", "name=\"modelDim\" value=\"32\"")
                .replace("name=\"batchSize\" value=\"32\"", "name=\"batchSize\" value=\"4\""));
        Files.writeString(examples.resolve("data/moby-dick.txt"),
                Files.readString(EXAMPLES.resolve("data/moby-dick.txt")).substring(0, 20_000));
        return examples;
    }

    @Test
    void runsEveryStepInOrderAndRemovesTheTemporaryModel() throws IOException {
        Path examples = smallExamples();
        List<Path> before = tempModels();

        int code = demo("--examples", examples.toString());

        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(infoCalls).hasSize(1);
        int previous = -1;
        for (int step = 1; step <= 6; step++) {
            int at = text.indexOf("==> " + step + "/6 ");
            assertThat(at).as("step %d in\n%s", step, text).isGreaterThan(previous);
            previous = at;
        }
        assertThat(text).contains("Accuracy").contains("demo-trainer");
        Matcher bpc = Pattern.compile("validation bits per character (\\d+\\.\\d+)").matcher(text);
        assertThat(bpc.find()).as(text).isTrue();
        assertThat(Double.parseDouble(bpc.group(1))).isBetween(0.5, 9.0);
        for (String strategy : List.of("greedy", "beam", "sample")) {
            assertThat(text).contains("with " + strategy);
        }
        assertThat(text.split("\n    score \\(", -1)).hasSize(4);                 // one sequence per strategy
        assertThat(text.split("\n\\[1] " + Pattern.quote(DemoCommand.PROMPT), -1)).hasSize(4); // each with the prompt
        assertThat(text).contains("demo finished in");
        assertThat(tempModels()).isEqualTo(before);
    }

    @Test
    void aDirectoryWithoutTheExamplesFailsNamingIt() {
        int code = demo("--examples", dir.resolve("nowhere").toString());

        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("nowhere").contains("char-lm.xml");
        assertThat(infoCalls).isEmpty();
    }

    @Test
    void anUnknownArgumentIsAUsageError() {
        assertThat(demo("--fast")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--fast").contains("usage: xformers4j demo");
    }

    private static List<Path> tempModels() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(p -> p.getFileName().toString().startsWith("xformers4j-demo-lm")).sorted().toList();
        }
    }
}
