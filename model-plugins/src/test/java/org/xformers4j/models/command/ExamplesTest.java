package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.xformers4j.registry.ComponentRegistry;

/**
 * Every configuration in {@code examples/} trains, through the command a user runs, on a slice of
 * its data with its budget cut short (one epoch, a few steps), so that no example rots: a renamed
 * property, a removed component or a bad value fails here. What each reaches with its full budget
 * is measured by hand and recorded in examples/README.md.
 */
class ExamplesTest {

    private static final Path EXAMPLES = Path.of("../examples");
    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    /** The budget properties of the examples and the short values they get here. */
    private static final Map<String, String> SHORT_BUDGET = Map.of("epochs", "1", "steps", "3", "warmupSteps", "1",
            "evaluateEvery", "3", "evaluationWindows", "2", "maxMinutes", "1");

    @TempDir
    Path dir;

    static Stream<Path> examples() throws IOException {
        try (Stream<Path> files = Files.list(EXAMPLES)) {
            List<Path> configs = files.filter(f -> f.toString().endsWith(".xml")).sorted().toList();
            assertThat(configs).hasSizeGreaterThanOrEqualTo(4);
            return configs.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void trainsWithAShortBudget(Path example) throws IOException {
        String xml = Files.readString(example);
        for (Map.Entry<String, String> budget : SHORT_BUDGET.entrySet()) {
            xml = xml.replaceAll("(<property name=\"" + budget.getKey() + "\" value=\")[^\"]*(\")",
                    "$1" + Matcher.quoteReplacement(budget.getValue()) + "$2");
        }
        Path config = Files.writeString(dir.resolve(example.getFileName()), xml);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        if (xml.contains("org.xformers4j.models.lm.LanguageModelTrainer")) {
            Path text = Files.writeString(dir.resolve("text.txt"),
                    Files.readString(EXAMPLES.resolve("data/moby-dick.txt")).substring(0, 20_000));
            for (String trainer : componentNames(xml, "org.xformers4j.models.lm.LanguageModelTrainer")) {
                int code = new LmCommand(REGISTRY).run(new String[] {"train", "--config", config.toString(),
                        "--trainer", trainer, "--text", text.toString(), "--json"}, o, e);
                assertThat(code).as(trainer + ": " + err).isZero();
            }
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"validation_bpc\"");
        } else if (xml.contains("org.xformers4j.models.lm.Seq2SeqTrainer")) {
            boolean images = xml.contains("org.xformers4j.models.lm.ImageSourceEncoder");
            List<String> lines = Files.readAllLines(EXAMPLES.resolve(images ? "data/digits-captions-train.csv"
                    : "data/g2p-moby-dick.tsv"));
            Path slice = Files.write(dir.resolve(images ? "slice.csv" : "slice.tsv"), lines.subList(0, 301));
            int code = new Seq2SeqCommand(REGISTRY).run(new String[] {"train", "--config", config.toString(),
                    "--pairs", slice.toString(), "--json"}, o, e);
            assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"validation_bpc\"");
        } else {
            String name = example.getFileName().toString();
            boolean text = name.startsWith("text");
            String data = name.startsWith("wine") ? "data/wine.csv" : text ? "data/spam-assassin.csv"
                    : name.startsWith("mnist") ? "data/mnist.csv.gz" : "data/digits.csv";
            List<String> lines = lines(EXAMPLES.resolve(data));
            Path slice = Files.write(dir.resolve("slice.csv"), lines.subList(0, Math.min(lines.size(), 301)));
            List<String> args = new ArrayList<>(List.of("--config", config.toString(), "--train", slice.toString(),
                    "--json"));
            if (text) {
                args.addAll(List.of("--id", "id"));               // its encoder declares the text column
            }
            int code = new TrainCommand(REGISTRY).run(args.toArray(String[]::new), o, e);
            assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("{\"accuracy\":");
        }
    }

    /** The lines of {@code file}, decompressed when its name ends in .gz. */
    private static List<String> lines(Path file) throws IOException {
        if (!file.toString().endsWith(".gz")) {
            return Files.readAllLines(file);
        }
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
    }

    /** The names of the components of {@code type}, and of those that inherit from one, in {@code xml}. */
    private static List<String> componentNames(String xml, String type) {
        List<String> names = new ArrayList<>(Pattern.compile("<component name=\"([^\"]+)\" type=\"" + Pattern.quote(type)
                + "\"").matcher(xml).results().map(m -> m.group(1)).toList());
        Pattern inherited = Pattern.compile("<component name=\"([^\"]+)\" inherit=\"([^\"]+)\"");
        for (int before = -1; before != names.size(); ) {
            before = names.size();
            inherited.matcher(xml).results().filter(m -> names.contains(m.group(2)) && !names.contains(m.group(1)))
                    .forEach(m -> names.add(m.group(1)));
        }
        return names;
    }
}
