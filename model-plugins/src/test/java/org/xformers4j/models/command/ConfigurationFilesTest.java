package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Trainer;
import org.xformers4j.io.FileMutations;
import org.xformers4j.io.FileMutations.Mutation;
import org.xformers4j.models.lm.TextModelTrainer;
import org.xformers4j.registry.ComponentRegistry;

/**
 * Configuration files are untrusted input to every command that reads one ({@code train},
 * {@code lm train}, {@code seq2seq train}): external entities are never resolved, and any mutation of
 * the shipped example configurations ends in a clear error naming the file or in a configured
 * trainer, never in another exception, an out-of-memory error or a hang.
 */
class ConfigurationFilesTest {

    private static final String SECRET = "secret-of-the-machine-41c2";
    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private PrintStream stream(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    @Test
    void noCommandResolvesAnExternalEntityOrShowsWhatItNames() throws IOException {
        Path secret = Files.writeString(dir.resolve("secret.txt"), SECRET);
        Path config = Files.writeString(dir.resolve("xxe.xml"), "<?xml version=\"1.0\"?>\n"
                + "<!DOCTYPE config [<!ENTITY x SYSTEM \"" + secret.toUri() + "\">]>\n"
                + "<config><component name=\"trainer\" type=\"&x;\"/></config>");
        Path data = Files.writeString(dir.resolve("data.csv"), "a,label\n1,x\n2,y\n");
        Map<String, Function<String[], Integer>> commands = Map.of(
                "train", args -> new TrainCommand(REGISTRY).run(args, stream(out), stream(err)),
                "lm", args -> new LmCommand(REGISTRY).run(args, stream(out), stream(err)),
                "seq2seq", args -> new Seq2SeqCommand(REGISTRY).run(args, stream(out), stream(err)));
        List<String[]> invocations = List.of(
                new String[] {"train", "--config", config.toString(), "--train", data.toString()},
                new String[] {"lm", "train", "--config", config.toString(), "--text", data.toString()},
                new String[] {"seq2seq", "train", "--config", config.toString(), "--pairs", data.toString()});
        for (String[] invocation : invocations) {
            String[] args = java.util.Arrays.copyOfRange(invocation, 1, invocation.length);
            int code = commands.get(invocation[0]).apply(args);
            assertThat(code).as(invocation[0]).isEqualTo(1);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains(config.toString()).contains("DOCTYPE")
                    .doesNotContain(SECRET);
            assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain(SECRET);
        }
    }

    @Test
    void everyMutationOfTheExampleConfigurationsEndsInAClearErrorOrATrainer() throws IOException {
        Map<String, Integer> outcomes = new TreeMap<>();
        mutate("wine-classifier.xml", "trainer", Trainer.class, outcomes);
        mutate("digits-classifier.xml", "trainer", Trainer.class, outcomes);
        mutate("char-lm.xml", "demo-trainer", TextModelTrainer.class, outcomes);
        int total = outcomes.values().stream().mapToInt(Integer::intValue).sum();
        System.out.println("config XML: " + total + " mutations: " + outcomes);
        assertThat(outcomes).containsKey("rejected with an error naming the file");
    }

    private void mutate(String example, String name, Class<?> type, Map<String, Integer> outcomes) throws IOException {
        byte[] valid = Files.readAllBytes(Path.of("../examples").resolve(example));
        List<Mutation> mutations = new ArrayList<>(FileMutations.truncations(valid, 60));
        mutations.addAll(FileMutations.bitFlips(valid, 120, example.hashCode()));
        mutations.addAll(hugeValues(valid));
        Path file = dir.resolve(example);
        for (Mutation mutation : mutations) {
            Files.write(file, mutation.bytes());
            String outcome;
            try {
                Object trainer = Command.configured(file, name, Map.of(), type, "a trainer", REGISTRY).component();
                assertThat(trainer).as(mutation.description()).isInstanceOf(type);
                outcome = "configured a trainer";
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage()).as(mutation.description()).startsWith("config " + file);
                outcome = "rejected with an error naming the file";
            } catch (RuntimeException | Error e) {
                fail(example + " " + mutation.description() + ": " + e, e);
                return;
            }
            outcomes.merge(outcome, 1, Integer::sum);
        }
    }

    /** The example with each of its numeric property values replaced, in turn, by values no trainer should take. */
    private static List<Mutation> hugeValues(byte[] valid) {
        String text = new String(valid, StandardCharsets.UTF_8);
        List<Mutation> out = new ArrayList<>();
        Matcher number = Pattern.compile("value=\"(-?[0-9.]+)\"").matcher(text);
        while (number.find()) {
            for (String value : new String[] {"2147483647", "99999999999999999999", "1e39", "-1", "NaN"}) {
                String mutated = text.substring(0, number.start(1)) + value + text.substring(number.end(1));
                out.add(new Mutation("value " + number.group(1) + " at char " + number.start(1) + " -> " + value,
                        mutated.getBytes(StandardCharsets.UTF_8)));
            }
        }
        return out;
    }
}
