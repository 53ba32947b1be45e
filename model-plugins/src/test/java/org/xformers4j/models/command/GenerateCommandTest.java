package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    /** The generated sequences of a {@code --json} output, and its strategy. */
    private record Output(String strategy, List<String> texts, List<Double> scores) {
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
        String strategy = null;
        List<String> texts = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        try (JsonParser json = new JsonFactory().createParser(text)) {
            assertThat(json.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            assertThat(json.nextFieldName()).isEqualTo("strategy");
            strategy = json.nextTextValue();
            assertThat(json.nextFieldName()).isEqualTo("sequences");
            assertThat(json.nextToken()).isEqualTo(JsonToken.START_ARRAY);
            while (json.nextToken() == JsonToken.START_OBJECT) {
                assertThat(json.nextFieldName()).isEqualTo("text");
                texts.add(json.nextTextValue());
                assertThat(json.nextFieldName()).isEqualTo("score");
                json.nextToken();
                scores.add(json.getDoubleValue());
                assertThat(json.nextToken()).isEqualTo(JsonToken.END_OBJECT);
            }
            assertThat(json.nextToken()).isEqualTo(JsonToken.END_OBJECT);
            assertThat(json.nextToken()).isNull();
        }
        return new Output(strategy, texts, scores);
    }

    @Test
    void greedyPrintsOneContinuationOfTheAskedLengthWithoutThePrompt() throws IOException {
        Output greedy = json("the cat", "--strategy", "greedy", "--max-new-tokens", "12");
        assertThat(greedy.strategy()).isEqualTo("greedy");
        assertThat(greedy.texts()).hasSize(1);
        assertThat(greedy.texts().get(0)).hasSize(12).doesNotStartWith("the cat");
        assertThat(greedy.scores().get(0)).isNegative();
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
    void textOutputNumbersTheSequencesWithTheirScoresAndThePrompt() {
        assertThat(generate("--model", model.toString(), "--prompt", "the cat", "--strategy", "beam", "--option",
                "numBeams=2", "--num-return-sequences", "2", "--max-new-tokens", "5")).as(err()).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("[1] score ").contains("[2] score ");
        assertThat(text.lines().filter(l -> l.startsWith("the cat")).count()).isEqualTo(2);
    }

    @Test
    void greedyTextIsStreamedAfterThePromptAndEqualsTheJsonText() throws IOException {
        String expected = json("the cat", "--strategy", "greedy", "--max-new-tokens", "12").texts().get(0);
        out.reset();
        assertThat(generate("--model", model.toString(), "--prompt", "the cat", "--strategy", "greedy",
                "--max-new-tokens", "12")).as(err()).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("the cat" + expected + "\n[1] score ").matches("(?s).*\\[1] score -?[0-9.]+\n");
    }

    @Test
    void usageErrorsReturnTwoNamingTheProblem() {
        assertThat(generate("--prompt", "x", "--strategy", "greedy")).isEqualTo(2);
        assertThat(err()).contains("--model is required").contains("usage: xformers4j generate");
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
        assertThat(err()).contains("'beem'").contains("beam");
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
