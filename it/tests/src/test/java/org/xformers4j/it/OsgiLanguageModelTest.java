package org.xformers4j.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xformers4j.host.OsgiHost;
import org.xformers4j.registry.HostCommand;

/**
 * The language-model commands of the model-plugins bundle inside the embedded framework (Felix,
 * and Equinox in a second run: {@link FrameworkUnderTest}) with the real bundles: {@code lm train} builds the trainer from an OLCUT XML file (OLCUT lives in the
 * Tribuo wrap bundle and reaches {@code org.xformers4j.models.lm.LanguageModelTrainer} and
 * {@code org.xformers4j.models.nn.Architecture} only through its dynamic import; the command hands the
 * trainer the host's registry, through which its components are created), trains a tiny model on
 * the start of Moby-Dick and saves it; {@code generate}
 * continues a prompt with the saved model by beam and contrastive search; {@code check} runs the
 * conformance suite on the contrastive strategy.
 *
 * <p>The commands are services of the JDK type {@code Function<String[], Integer>}; their classes
 * are the bundles' own, so {@code HostCommand.run(String[], PrintStream, PrintStream)} is called
 * reflectively ({@link Mirror#call}) to capture what each command prints.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OsgiLanguageModelTest {

    /** The extract of the repository's Moby-Dick text the model trains on (the working directory is it/tests). */
    private static final Path MOBY_DICK = Path.of("../../examples/data/moby-dick.txt");
    private static final Path SPAM = Path.of("../../examples/data/spam-assassin.csv");
    private static final int TEXT_CHARACTERS = 5_000;
    private static final int STEPS = 10;
    private static final int EVALUATE_EVERY = 5;
    private static final int MAX_NEW_TOKENS = 5;
    private static final Duration SERVICE_TIMEOUT = Duration.ofSeconds(60);

    /** Exit code, stdout and stderr of one command run. */
    record Outcome(int code, String out, String err) {
    }

    /** What {@code lm train --json} reports: the steps run, the last validation bits per character, the evaluated steps. */
    record Training(long steps, double validationBpc, List<Long> curveSteps) {
    }

    /** One sequence of {@code generate --json}. */
    record Sequence(String text, double score) {
    }

    /** What {@code generate --json} reports. */
    record Generation(String strategy, List<Sequence> sequences) {
    }

    private OsgiHost host;
    private Path model;
    private Path metrics;
    private Path curves;
    private Outcome training;

    @BeforeAll
    void startFrameworkAndTrain(@TempDir Path dir) throws Exception {
        host = OsgiHost.start(OsgiHost.defaultBundlesDirectory(), FrameworkUnderTest.get());
        Path config = Files.writeString(dir.resolve("tiny-lm.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                    <component name="trainer" type="org.xformers4j.models.lm.LanguageModelTrainer">
                        <property name="architecture" value="architecture"/>
                        <property name="contextLength" value="16"/>
                        <property name="steps" value="%d"/>
                        <property name="evaluateEvery" value="%d"/>
                        <property name="optimization" value="optimization"/>
                        <property name="run" value="run"/>
                    </component>
                    <component name="optimization" type="org.xformers4j.train.Optimization">
                        <property name="learningRate" value="0.002"/>
                        <property name="beta2" value="0.95"/>
                        <property name="weightDecay" value="0.1"/>
                        <property name="warmupSteps" value="2"/>
                        <property name="finalLearningRateFraction" value="0.1"/>
                        <property name="gradientClip" value="1.0"/>
                    </component>
                    <component name="run" type="org.xformers4j.train.RunSettings">
                        <property name="batchSize" value="4"/>
                    </component>
                    <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                        <property name="attention" value="flash"/>
                        <property name="positional" value="rotary"/>
                        <property name="modelDim" value="16"/>
                        <property name="heads" value="2"/>
                        <property name="layers" value="1"/>
                    </component>
                </config>
                """.formatted(STEPS, EVALUATE_EVERY));
        Path text = Files.writeString(dir.resolve("moby-dick-start.txt"),
                Files.readString(MOBY_DICK, StandardCharsets.UTF_8).substring(0, TEXT_CHARACTERS));
        model = dir.resolve("model");
        metrics = dir.resolve("metrics.jsonl");
        curves = dir.resolve("curves.png");
        training = run("lm", "train", "--config", config.toString(), "--text", text.toString(),
                "--save", model.toString(), "--json", "--metrics", metrics.toString(), "--plot", curves.toString());
    }

    @AfterAll
    void stopFramework() {
        if (host != null) {
            host.close();
        }
    }

    /** The command service {@code name}, waiting for Declarative Services to publish it. */
    private Object command(String name) throws Exception {
        return host.waitForService("(&(objectClass=" + Function.class.getName() + ")(" + HostCommand.NAME_PROPERTY
                + "=" + name + "))", SERVICE_TIMEOUT);
    }

    /** Runs the command service {@code args[0]} on the remaining arguments, capturing its output. */
    private Outcome run(String... args) throws Exception {
        Object command = command(args[0]);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = (Integer) Mirror.call(command, "run", Stream.of(args).skip(1).toArray(String[]::new), o, e);
        }
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theLanguageModelCommandsAreFunctionServicesOfTheModelsBundle() throws Exception {
        Map<String, String> bundleOf = host.serviceReferences("(" + HostCommand.NAME_PROPERTY + "=*)").stream()
                .collect(Collectors.toMap(ref -> (String) ref.getProperty(HostCommand.NAME_PROPERTY),
                        ref -> ref.getBundle().getSymbolicName()));
        assertThat(bundleOf).containsEntry("lm", "org.xformers4j.models")
                .containsEntry("train", "org.xformers4j.models")
                .containsEntry("predict", "org.xformers4j.models")
                .containsEntry("evaluate", "org.xformers4j.models")
                .containsEntry("generate", "org.xformers4j.models")
                .containsEntry("demo", "org.xformers4j.models")
                .containsEntry("attention-map", "org.xformers4j.models")
                .containsEntry("check", "org.xformers4j.registry");
        for (String name : List.of("lm", "generate", "demo", "train", "predict", "evaluate", "attention-map")) {
            assertThat(command(name)).as(name).isInstanceOf(Function.class);
        }
    }

    /**
     * A text classifier from the command line inside the framework: Tribuo's columnar loading and
     * logistic regression (the baseline), the ordered-text encoder, evaluate and predict on the model.
     */
    @Test
    void aTextClassifierTrainsBesideTribuosBaselineAndIsEvaluatedAndApplied(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("tiny-text.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                    <component name="trainer" type="org.xformers4j.models.tribuo.TransformerTrainer">
                        <property name="encoder" value="encoder"/>
                        <property name="head" value="head"/>
                        <property name="architecture" value="architecture"/>
                        <property name="epochs" value="1"/>
                    </component>
                    <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                        <property name="attention" value="flash"/>
                        <property name="positional" value="rotary"/>
                        <property name="modelDim" value="16"/>
                        <property name="heads" value="2"/>
                        <property name="layers" value="1"/>
                    </component>
                    <component name="encoder" type="org.xformers4j.models.tribuo.TextTokens">
                        <property name="tokenizer" value="BPE"/>
                        <property name="bpeVocabularySize" value="300"/>
                        <property name="maxLength" value="32"/>
                    </component>
                    <component name="head" type="org.xformers4j.models.tribuo.LabelHead"/>
                </config>
                """);
        Path data = Files.write(dir.resolve("mail.csv"), Files.readAllLines(SPAM).subList(0, 101));
        Path model = dir.resolve("text.tribuo");
        Outcome trained = run("train", "--config", config.toString(), "--train", data.toString(), "--text", "text",
                "--id", "id", "--baseline", "--save", model.toString(), "--json");
        assertThat(trained.code()).as(trained.err()).isEqualTo(HostCommand.OK);
        assertThat(trained.out()).startsWith("{\"accuracy\":").contains("\"baseline_accuracy\":");
        Outcome evaluated = run("evaluate", "--model", model.toString(), "--input", data.toString(), "--id", "id",
                "--json");
        assertThat(evaluated.code()).as(evaluated.err()).isEqualTo(HostCommand.OK);
        assertThat(evaluated.out()).startsWith("{\"examples\":100,\"accuracy\":");
        Outcome predicted = run("predict", "--model", model.toString(), "--input", data.toString(), "--id", "id",
                "--all-probabilities");
        assertThat(predicted.code()).as(predicted.err()).isEqualTo(HostCommand.OK);
        assertThat(predicted.out().lines().toList()).hasSize(101).first().isEqualTo("id,label,probability,p(ham),p(spam)");
    }

    @Test
    void lmTrainBuildsTheOlcutConfiguredTrainerTrainsAndSaves() throws IOException {
        assertThat(training.code()).as(training.err()).isEqualTo(HostCommand.OK);
        assertThat(training.err().lines()).as("nothing but progress on stderr").isNotEmpty()
                .allMatch(line -> line.matches("step \\d+/" + STEPS + " \\(\\d+%\\)  loss .* tokens/s  .* ETA .*"));
        Training summary = training(training.out());
        assertThat(summary.steps()).isEqualTo(STEPS);
        assertThat(summary.validationBpc()).isFinite().isPositive();
        assertThat(summary.curveSteps()).containsExactly((long) EVALUATE_EVERY, (long) STEPS);
        assertThat(model).isDirectory().isNotEmptyDirectory();
    }

    static Stream<Arguments> strategies() {
        return Stream.of(Arguments.of("beam", List.of("--option", "numBeams=2")),
                Arguments.of("contrastive", List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strategies")
    void generateContinuesThePromptWithTheSavedModel(String strategy, List<String> options) throws Exception {
        assertThat(training.code()).as("lm train: " + training.err()).isEqualTo(HostCommand.OK);
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", "Call me ",
                "--strategy", strategy, "--max-new-tokens", String.valueOf(MAX_NEW_TOKENS), "--json"));
        args.addAll(options);
        Outcome r = run(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isEqualTo(HostCommand.OK);
        Generation generation = generation(r.out());
        assertThat(generation.strategy()).isEqualTo(strategy);
        assertThat(generation.sequences()).singleElement().satisfies(s -> {
            // Byte tokens: each new token decodes to at most one code point.
            assertThat(s.text().codePointCount(0, s.text().length())).isBetween(1, MAX_NEW_TOKENS);
            assertThat(s.score()).isFinite();
        });
    }

    /**
     * JFreeChart, embedded in the models bundle, draws off-screen inside the framework (java.awt and
     * javax.imageio from the system bundle): the run's --plot and the plot command on its --metrics.
     */
    @Test
    void theCurvesArePlottedInsideTheFramework(@TempDir Path dir) throws Exception {
        assertThat(training.code()).as("lm train: " + training.err()).isEqualTo(HostCommand.OK);
        assertThat(Files.readAllLines(metrics)).hasSize(STEPS / EVALUATE_EVERY);
        assertThat(ImageIO.read(curves.toFile()).getWidth()).isEqualTo(1000);
        Path png = dir.resolve("again.png");
        Outcome r = run("plot", metrics.toString(), "--out", png.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(HostCommand.OK);
        assertThat(r.out()).isEqualTo("plotted 1 run (2 points) to " + png + "\n");
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(1000);
    }

    @Test
    void checkRunsTheConformanceSuiteOnTheContrastiveStrategy() throws Exception {
        Outcome r = run("check", "contrastive");
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(HostCommand.OK);
        assertThat(r.out()).contains("contrastive");
    }

    /** Reads {@code {"steps":…, "validation_loss":…, "validation_bpc":…, "train_seconds":…, "curve":[{"step":…, …}, …]}}. */
    private static Training training(String json) throws IOException {
        long steps = -1;
        double bpc = Double.NaN;
        List<Long> curveSteps = new ArrayList<>();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            expect(p, JsonToken.START_OBJECT);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "steps" -> steps = p.getLongValue();
                    case "validation_bpc" -> bpc = p.getDoubleValue();
                    case "curve" -> {
                        assertThat(value).as("curve").isEqualTo(JsonToken.START_ARRAY);
                        while (p.nextToken() == JsonToken.START_OBJECT) {
                            while (p.nextToken() == JsonToken.FIELD_NAME) {
                                String pointField = p.currentName();
                                p.nextToken();
                                if (pointField.equals("step")) {
                                    curveSteps.add(p.getLongValue());
                                }
                            }
                        }
                    }
                    default -> assertThat(value).as(field).isIn(JsonToken.VALUE_NUMBER_INT, JsonToken.VALUE_NUMBER_FLOAT);
                }
            }
            assertThat(p.nextToken()).as("content after the JSON object").isNull();
        }
        return new Training(steps, bpc, curveSteps);
    }

    /** Reads exactly {@code {"prompt":…, "strategy":…, "score_is":…, "sequences":[{"text":…, "score":…, "log_probability":…}, …]}}. */
    private static Generation generation(String json) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(json)) {
            expect(p, JsonToken.START_OBJECT);
            expectField(p, "prompt", JsonToken.VALUE_STRING);
            expectField(p, "strategy", JsonToken.VALUE_STRING);
            String strategy = p.getText();
            expectField(p, "score_is", JsonToken.VALUE_STRING);
            expectField(p, "sequences", JsonToken.START_ARRAY);
            List<Sequence> sequences = new ArrayList<>();
            while (p.nextToken() == JsonToken.START_OBJECT) {
                expectField(p, "text", JsonToken.VALUE_STRING);
                String text = p.getText();
                expectField(p, "score", JsonToken.VALUE_NUMBER_FLOAT);
                double score = p.getDoubleValue();
                expectField(p, "log_probability", JsonToken.VALUE_NUMBER_FLOAT);
                sequences.add(new Sequence(text, score));
                expect(p, JsonToken.END_OBJECT);
            }
            assertThat(p.currentToken()).isEqualTo(JsonToken.END_ARRAY);
            expect(p, JsonToken.END_OBJECT);
            assertThat(p.nextToken()).as("content after the JSON object").isNull();
            return new Generation(strategy, sequences);
        }
    }

    private static void expect(JsonParser p, JsonToken token) throws IOException {
        assertThat(p.nextToken()).as("at " + p.currentLocation()).isEqualTo(token);
    }

    private static void expectField(JsonParser p, String name, JsonToken value) throws IOException {
        expect(p, JsonToken.FIELD_NAME);
        assertThat(p.currentName()).isEqualTo(name);
        expect(p, value);
    }
}
