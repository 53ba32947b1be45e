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
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j generate} from a model saved by {@code lm train}: the JSON output of each
 * strategy, several beams, stop strings, and the exit codes and messages for bad arguments.
 */
class GenerateCommandTest {

    @TempDir
    static Path dir;

    private static Path model;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    /** The generated sequences of a {@code --json} output, its strategy and what its scores are. */
    private record Output(String strategy, String scoreIs, List<String> texts, List<Double> scores,
                          List<Double> logProbabilities) {
    }

    @BeforeAll
    static void trainModel() throws IOException {
        Path[] files = LmCommandTest.files(dir, "flash");
        model = dir.resolve("model");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new LmCommand(ComponentRegistry.standalone()).run(new String[] {"train", "--config",
                        files[0].toString(), "--text", files[1].toString(), "--save", model.toString(), "--json"},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    }

    private int generate(String... args) {
        return new GenerateCommand(ComponentRegistry.standalone()).run(args,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** Runs generate with {@code --json} and the model and prompt, expecting success, and parses the output. */
    private Output json(String prompt, String... args) throws IOException {
        out.reset();
        List<String> all = new ArrayList<>(List.of("--model", model.toString(), "--prompt", prompt, "--json"));
        all.addAll(List.of(args));
        assertThat(generate(all.toArray(new String[0]))).as(err()).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text.lines().count()).as(text).isEqualTo(1);
        Map<String, Object> object = jsonObject(text);
        assertThat(object).containsOnlyKeys("prompt", "strategy", "score_is", "sequences")
                .containsEntry("prompt", prompt);
        return output(object);
    }

    /** The output of one prompt's JSON object. */
    @SuppressWarnings("unchecked")
    private static Output output(Map<String, Object> object) {
        List<Map<String, Object>> sequences = (List<Map<String, Object>>) object.get("sequences");
        sequences.forEach(s -> assertThat(s).containsOnlyKeys("text", "score", "log_probability"));
        return new Output((String) object.get("strategy"), (String) object.get("score_is"),
                sequences.stream().map(s -> (String) s.get("text")).toList(),
                sequences.stream().map(s -> (Double) s.get("score")).toList(),
                sequences.stream().map(s -> (Double) s.get("log_probability")).toList());
    }

    /** One line of JSON as a map of strings, numbers (as doubles) and lists of maps. */
    static Map<String, Object> jsonObject(String line) throws IOException {
        try (JsonParser json = new JsonFactory().createParser(line)) {
            assertThat(json.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            Map<String, Object> object = readObject(json);
            assertThat(json.nextToken()).isNull();
            return object;
        }
    }

    private static Map<String, Object> readObject(JsonParser json) throws IOException {
        Map<String, Object> object = new LinkedHashMap<>();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String name = json.currentName();
            JsonToken value = json.nextToken();
            if (value == JsonToken.START_ARRAY) {
                List<Object> items = new ArrayList<>();
                while (json.nextToken() == JsonToken.START_OBJECT) {
                    items.add(readObject(json));
                }
                object.put(name, items);
            } else {
                object.put(name, value == JsonToken.VALUE_STRING ? json.getText() : json.getDoubleValue());
            }
        }
        return object;
    }

    @Test
    void greedyPrintsOneContinuationOfTheAskedLengthWithoutThePrompt() throws IOException {
        Output greedy = json("the cat", "--strategy", "greedy", "--max-new-tokens", "12");
        assertThat(greedy.strategy()).isEqualTo("greedy");
        assertThat(greedy.texts()).hasSize(1);
        assertThat(greedy.texts().get(0)).hasSize(12).doesNotStartWith("the cat");
        assertThat(greedy.scores().get(0)).isNegative();
        assertThat(greedy.scoreIs()).isEqualTo("sum of log-probabilities");
        assertThat(greedy.logProbabilities()).isEqualTo(greedy.scores());
        assertThat(json("the cat", "--strategy", "greedy", "--max-new-tokens", "12")).isEqualTo(greedy);
    }

    @Test
    void beamSearchReturnsTheAskedNumberOfSequencesBestFirst() throws IOException {
        Output beams = json("the dog", "--strategy", "beam", "--option", "numBeams=3", "--num-return-sequences", "2",
                "--max-new-tokens", "8");
        assertThat(beams.strategy()).isEqualTo("beam");
        assertThat(beams.texts()).hasSize(2).doesNotHaveDuplicates();
        assertThat(beams.scores().get(0)).isGreaterThanOrEqualTo(beams.scores().get(1));
    }

    /**
     * Beam search ranks by the log-probability divided by the generated length (lengthPenalty 1, a
     * byte model: one token per byte, no end token), and says so; with lengthPenalty 0 the score is
     * the sum itself and is called that.
     */
    @Test
    void eachStrategySaysWhatItsScoreIs() throws IOException {
        Output normalised = json("the dog", "--strategy", "beam", "--option", "numBeams=3", "--num-return-sequences",
                "2", "--max-new-tokens", "8");
        assertThat(normalised.scoreIs())
                .isEqualTo("length-normalised log-probability: sum of log-probabilities / generated tokens");
        for (int i = 0; i < 2; i++) {
            int tokens = normalised.texts().get(i).getBytes(StandardCharsets.UTF_8).length;
            assertThat(normalised.scores().get(i) * tokens).isCloseTo(normalised.logProbabilities().get(i),
                    within(1e-9));
        }
        Output sums = json("the dog", "--strategy", "beam", "--option", "numBeams=3", "--option", "lengthPenalty=0",
                "--max-new-tokens", "8");
        assertThat(sums.scoreIs()).isEqualTo("sum of log-probabilities");
        assertThat(sums.scores()).isEqualTo(sums.logProbabilities());
        assertThat(json("the dog", "--strategy", "diverse-beam", "--option", "numBeams=4", "--max-new-tokens", "4")
                .scoreIs()).isEqualTo("length-normalised log-probability: sum of log-probabilities less diversity "
                + "penalties / generated tokens");
        for (String strategy : List.of("sample", "contrastive")) {
            Output single = json("the dog", "--strategy", strategy, "--max-new-tokens", "8");
            assertThat(single.scoreIs()).as(strategy).isEqualTo("sum of log-probabilities");
            assertThat(single.scores()).as(strategy).isEqualTo(single.logProbabilities());
        }
    }

    @Test
    void theStrategyIsGreedyUnlessNamed() throws IOException {
        Output named = json("the cat", "--strategy", "greedy", "--max-new-tokens", "10");
        Output unnamed = json("the cat", "--max-new-tokens", "10");
        assertThat(unnamed).isEqualTo(named);
    }

    @Test
    void samplingIsReproducibleForASeed() throws IOException {
        String[] args = {"--strategy", "sample", "--option", "temperature=1.5", "--option", "topK=0",
                "--seed", "7", "--max-new-tokens", "16"};
        Output sampled = json("the", args);
        assertThat(sampled.strategy()).isEqualTo("sample");
        assertThat(sampled.texts()).hasSize(1);
        assertThat(json("the", args)).isEqualTo(sampled);
    }

    @Test
    void aStopStringEndsTheGenerationRightAfterIt() throws IOException {
        String free = json("the cat", "--strategy", "greedy", "--max-new-tokens", "30").texts().get(0);
        // Stop at the first character the free generation repeats, wherever the model puts it.
        int at = 1;
        while (free.indexOf(free.charAt(at)) == at) {
            at++;
        }
        String stop = String.valueOf(free.charAt(at));
        String stopped = json("the cat", "--strategy", "greedy", "--max-new-tokens", "30", "--stop", stop)
                .texts().get(0);
        assertThat(stopped).isEqualTo(free.substring(0, free.indexOf(stop) + 1));
        assertThat(stopped).isNotEqualTo(free);
    }

    @Test
    void textOutputShowsEachSequenceThenItsLabelledScores() throws IOException {
        String[] beam = {"--strategy", "beam", "--option", "numBeams=2", "--num-return-sequences", "2",
                "--max-new-tokens", "5"};
        Output expected = json("the cat", beam);
        out.reset();
        List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--prompt", "the cat"));
        args.addAll(List.of(beam));
        assertThat(generate(args.toArray(new String[0]))).as(err()).isZero();
        StringBuilder layout = new StringBuilder();
        for (int i = 0; i < 2; i++) {
            layout.append(String.format(Locale.ROOT, "[%d] the cat%s%n    score (%s): %.4f%n"
                            + "    sum of log-probabilities: %.4f%n", i + 1, expected.texts().get(i), expected.scoreIs(),
                    expected.scores().get(i), expected.logProbabilities().get(i)));
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(layout.toString());
    }

    @Test
    void greedyTextIsStreamedAfterThePromptInTheSameLayout() throws IOException {
        Output expected = json("the cat", "--strategy", "greedy", "--max-new-tokens", "12");
        out.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "the cat", "--strategy", "greedy",
                "--max-new-tokens", "12")).as(err()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(String.format(Locale.ROOT,
                "[1] the cat%s%n    score (sum of log-probabilities): %.4f%n", expected.texts().get(0),
                expected.scores().get(0)));
    }

    @Test
    void inputGeneratesForEveryNonEmptyLineInSeparateBlocks() throws IOException {
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "the cat\n\nthe dog\r\nthe fog");
        Map<String, Output> expected = new LinkedHashMap<>();
        for (String prompt : List.of("the cat", "the dog", "the fog")) {
            expected.put(prompt, json(prompt, "--max-new-tokens", "6"));
        }
        out.reset();
        assertThat(generate("--model", model.toString(), "--input", prompts.toString(), "--max-new-tokens", "6",
                "--json")).as(err()).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(3);
        int[] lineNumbers = {1, 3, 4};
        int i = 0;
        for (Map.Entry<String, Output> prompt : expected.entrySet()) {
            Map<String, Object> object = jsonObject(lines.get(i));
            assertThat(object).containsEntry("prompt", prompt.getKey()).containsEntry("line", (double) lineNumbers[i]);
            object.remove("line");
            assertThat(output(object)).isEqualTo(prompt.getValue());
            i++;
        }

        out.reset();
        assertThat(generate("--model", model.toString(), "--input", prompts.toString(), "--max-new-tokens", "6"))
                .as(err()).isZero();
        StringBuilder blocks = new StringBuilder();
        i = 0;
        for (Map.Entry<String, Output> prompt : expected.entrySet()) {
            blocks.append(i == 0 ? "" : System.lineSeparator()).append(String.format(Locale.ROOT,
                    "prompt (line %d): %s%n[1] %s%s%n    score (sum of log-probabilities): %.4f%n", lineNumbers[i],
                    prompt.getKey(), prompt.getKey(), prompt.getValue().texts().get(0),
                    prompt.getValue().scores().get(0)));
            i++;
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(blocks.toString());
    }

    @Test
    void anInputFileThatIsNotUtf8OrHasAHugeLineFailsNamingTheLine() throws IOException {
        Path latin1 = Files.write(dir.resolve("latin1.txt"), "the cat\ncaf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(generate("--model", model.toString(), "--input", latin1.toString(), "--max-new-tokens", "2"))
                .isEqualTo(1);
        assertThat(err()).contains("--input " + latin1 + " line 2: not UTF-8 text");
        err.reset();
        Path huge = Files.writeString(dir.resolve("huge.txt"), "the cat\nthe dog\n"
                + "x".repeat(PromptFile.MAX_LINE_CHARACTERS + 1) + "\n");
        assertThat(generate("--model", model.toString(), "--input", huge.toString(), "--max-new-tokens", "2"))
                .isEqualTo(1);
        assertThat(err()).contains("--input " + huge + " line 3: longer than 65,536 characters");
        err.reset();
        assertThat(generate("--model", model.toString(), "--input", dir.resolve("absent.txt").toString()))
                .isEqualTo(1);
        assertThat(err()).contains("absent.txt");
    }

    @Test
    void promptsLongerThanTheContextGetOneWarningWithTheirCountAndTheLongest() throws IOException {
        Path prompts = Files.writeString(dir.resolve("long.txt"), "the cat\n" + "the dog ran in the fog. ".repeat(2)
                + "\n" + "the cat sat on the mat. ".repeat(3) + "\n");
        assertThat(generate("--model", model.toString(), "--input", prompts.toString(), "--max-new-tokens", "2",
                "--json")).as(err()).isZero();
        assertThat(err()).isEqualTo(String.format("generate: warning: 2 of 3 prompts are longer than the model's "
                + "context of 16 tokens (the longest has 72); the model read only the last 16 tokens%n"));
        err.reset();
        json("the cat", "--max-new-tokens", "2");
        assertThat(err()).isEmpty();
    }

    @Test
    void usageErrorsReturnTwoNamingTheProblem() {
        assertThat(generate("--prompt", "x", "--strategy", "greedy")).isEqualTo(2);
        assertThat(err()).contains("--model is required").contains("usage: xformers4j generate");
        err.reset();
        assertThat(generate("--model", model.toString())).isEqualTo(2);
        assertThat(err()).contains("give either --prompt TEXT or --input FILE");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--input", "prompts.txt")).isEqualTo(2);
        assertThat(err()).contains("give either --prompt TEXT or --input FILE");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "beam", "--option", "x"))
                .isEqualTo(2);
        assertThat(err()).contains("--option must be NAME=VALUE").contains("'x'");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "greedy", "--top", "3"))
                .isEqualTo(2);
        assertThat(err()).contains("unexpected argument '--top'");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "greedy", "--seed"))
                .isEqualTo(2);
        assertThat(err()).contains("--seed needs a value");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy",
                "--max-new-tokens", "many")).isEqualTo(2);
        assertThat(err()).contains("--max-new-tokens must be an integer, got 'many'");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy",
                "--max-new-tokens", "0")).isEqualTo(2);
        assertThat(err()).contains("maxNewTokens must be >= 1, got 0");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy",
                "--repetition-penalty", "-1")).isEqualTo(2);
        assertThat(err()).contains("repetition penalty must be > 0");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy",
                "--max-time", "NaN")).isEqualTo(2);
        assertThat(err()).contains("--max-time must be a finite number, got 'NaN'");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy",
                "--max-time", "0")).isEqualTo(2);
        assertThat(err()).contains("--max-time must be a number of seconds > 0, got '0'");
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    /**
     * maxNewTokens is a bound: up to Integer.MAX_VALUE nothing is sized by it, and a stop string
     * (the first character greedy decoding produces) ends the run after one token.
     */
    @Test
    void aHugeMaxNewTokensIsABoundNotAnAllocation() throws IOException {
        String first = json("the cat", "--strategy", "greedy", "--max-new-tokens", "1").texts().get(0);
        for (String max : new String[] {"2147483647", "2000000000"}) {
            Output output = json("the cat", "--strategy", "greedy", "--max-new-tokens", max, "--stop", first);
            assertThat(output.texts()).containsExactly(first);
        }
    }

    @Test
    void failuresReturnOneNamingTheProblem() {
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "beem")).isEqualTo(1);
        assertThat(err()).contains("unknown component 'beem'; did you mean: beam?");
        err.reset();
        // an attention mechanism's name is not suggested for a misspelt strategy
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "flsh")).isEqualTo(1);
        assertThat(err()).contains("unknown component 'flsh'; valid names: ").contains("greedy").contains("beam")
                .doesNotContain("flash");
        err.reset();
        assertThat(generate("--model", dir.resolve("nothing").toString(), "--prompt", "x", "--strategy", "greedy"))
                .isEqualTo(1);
        assertThat(err()).contains("nothing").contains("model.x4j");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "", "--strategy", "greedy")).isEqualTo(1);
        assertThat(err()).contains("prompt is empty");
        err.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "x", "--strategy", "beam", "--option",
                "numBeams=0")).isEqualTo(1);
        assertThat(err()).contains("numBeams");
    }
}
