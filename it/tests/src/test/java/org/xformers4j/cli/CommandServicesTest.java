package org.xformers4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.conformance.DecodingConformance;

/**
 * The {@code xformers4j} command line end to end, as the launcher runs it: each call starts the
 * framework with the real bundles, runs a command service the registry bundle publishes, and stops.
 */
class CommandServicesTest {

    /** Exit code, stdout and stderr of one command line. */
    record Outcome(int code, String out, String err) {
    }

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, o, e);
        }
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Reads one JSON value into maps, lists, strings, numbers, booleans and nulls; fails on trailing content. */
    private static Object parseJson(String text) throws IOException {
        try (JsonParser p = new JsonFactory().createParser(text)) {
            p.nextToken();
            Object value = read(p);
            assertThat(p.nextToken()).as("content after the JSON value").isNull();
            return value;
        }
    }

    private static Object read(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, read(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(read(p));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return p.getNumberValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return p.getBooleanValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IOException("unexpected " + t + " at " + p.currentLocation());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void infoJsonIsExactlyOneObjectWithTheComponentsAndTheAvailableCpuBackend() throws IOException {
        Outcome r = run("info", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Object> info = (Map<String, Object>) parseJson(r.out());
        assertThat(info).containsOnlyKeys("backends", "components");

        List<Map<String, Object>> backends = (List<Map<String, Object>>) info.get("backends");
        assertThat(backends).anySatisfy(b -> assertThat(b).containsEntry("name", "cpu").containsEntry("available", true));

        Map<String, Map<String, Object>> components = ((List<Map<String, Object>>) info.get("components")).stream()
                .collect(Collectors.toMap(c -> (String) c.get("name"), c -> c));
        assertThat(components.get("full")).containsEntry("kind", "attention")
                .containsKeys("summary", "reference", "hyperparameters", "capabilities");
        assertThat(components.get("sinusoidal")).containsEntry("kind", "positional");
        assertThat(components.get("learned")).containsEntry("kind", "positional");
        assertThat(components.get("greedy")).containsEntry("kind", "decoding");
        List<Map<String, Object>> learned = (List<Map<String, Object>>) components.get("learned").get("hyperparameters");
        assertThat(learned).anySatisfy(h -> assertThat(h).containsEntry("name", "maxLength")
                .containsEntry("type", "int").containsEntry("default", "512").containsKey("description"));
        assertThat((Map<String, Object>) components.get("full").get("capabilities")).containsEntry("causal", true);
    }

    @Test
    void infoTableAndDescribeReadTheRegistry() {
        Outcome r = run("info");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("cpu").contains("full").contains("sinusoidal").contains("learned").contains("greedy");

        r = run("describe", "learned");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("learned").contains("positional").contains("maxLength").contains("512");
    }

    @Test
    void describeShowsTheTrainersEncodersAndHeadsTheModelBundlePublishes() {
        Outcome r = run("describe", "TransformerTrainer");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("TransformerTrainer (trainer)").contains("epochs").contains("[1, 2147483647]");
        r = run("describe", "org.xformers4j.models.tribuo.LabelHead");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("LabelHead (output head)");
        r = run("describe", "ImagePatchs");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("did you mean: ImagePatches?");
    }

    @Test
    void trainDryRunPrintsTheConfigurationWithItsOverrides() {
        Outcome r = run("train", "--config", "../../examples/wine-classifier.xml", "--train",
                "../../examples/data/wine.csv", "--set", "trainer.epochs=3", "--set",
                "architecture.attentionOptions.scale=0.5", "--dry-run");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("<property name=\"epochs\" value=\"3\"/>")
                .contains("<entry key=\"scale\" value=\"0.5\"/>").doesNotContain("trained on");
    }

    @Test
    void describingAnUnknownComponentFailsWithTheClosestNames() {
        Outcome r = run("describe", "ful");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("'ful'").contains("full");
        r = run("describe", "nonexistent");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nonexistent").contains("full").contains("greedy");
    }

    @Test
    void helpAndUnknownCommandsListTheBundlesCommands() {
        Outcome r = run("--help");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("bench").contains("info").contains("describe");
        r = run("frob");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("unknown command 'frob'").contains("bench").contains("info").contains("describe");
    }

    @Test
    @SuppressWarnings("unchecked")
    void checkRunsTheConformanceSuitesOnTheInstalledAttentionPositionalAndDecodingComponents() throws IOException {
        Outcome r = run("check", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        List<Map<String, Object>> results = (List<Map<String, Object>>) ((Map<String, Object>) parseJson(r.out()))
                .get("results");
        assertThat(results).extracting(m -> m.get("component")).contains("full", "flash", "local", "sliding-window",
                "lsh", "linear", "hydra", "sima", "performer", "cosformer", "relu-linear",
                "nystrom", "linformer", "swin", "block-sparse", "bigbird", "swiftformer", "xca", "conv-modulation");
        assertThat(results).allSatisfy(m -> assertThat(m.get("passed")).as(m.toString()).isEqualTo(true));
        assertThat(results).filteredOn(m -> m.get("component").equals("flash")).extracting(m -> m.get("check"))
                .contains("matches-full", "gradient-inputs", "causal-no-leakage", "incremental-decoding");
        assertThat(results).filteredOn(m -> m.get("component").equals("linear")).extracting(m -> m.get("check"))
                .contains("matches-kernel-definition", "gradient-inputs", "causal-no-leakage", "padding-ignored",
                        "incremental-decoding", "cached-generation")
                .doesNotContain("matches-full");
        assertThat(results).filteredOn(m -> m.get("component").equals("performer")).extracting(m -> m.get("check"))
                .contains("matches-kernel-definition", "gradient-inputs", "causal-no-leakage", "padding-ignored",
                        "reproducible", "approximates-full", "linear-memory", "incremental-decoding", "cached-generation")
                .doesNotContain("matches-full");
        assertThat(results).filteredOn(m -> m.get("component").equals("linformer")).extracting(m -> m.get("check"))
                .contains("matches-full", "gradient-inputs", "gradient-parameters", "padding-ignored", "reproducible")
                .doesNotContain("causal-no-leakage", "incremental-decoding");
        assertThat(results).extracting(m -> m.get("component")).contains("sinusoidal", "learned", "axial", "none",
                "rotary", "xpos", "alibi", "t5-bias", "dynamic-bias");
        assertThat(results).filteredOn(m -> m.get("component").equals("alibi")).extracting(m -> m.get("check"))
                .containsExactly("pairs-with-every-mechanism", "extrapolates", "bias-shift-invariant",
                        "no-future-bonus", "incremental-decoding");
        assertThat(results).filteredOn(m -> List.of("greedy", "beam", "diverse-beam", "sample")
                .contains(m.get("component"))).extracting(m -> m.get("component") + " " + m.get("check"))
                .containsAll(Stream.of("greedy", "beam", "diverse-beam", "sample").flatMap(c ->
                        DecodingConformance.checkNames().stream().map(check -> c + " " + check)).toList());

        Outcome one = run("check", "flsh");
        assertThat(one.code()).isEqualTo(1);
        assertThat(one.err()).contains("flash");
    }
}
