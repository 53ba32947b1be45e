package org.xformers4j.models.command;

import static org.assertj.core.api.Assertions.assertThat;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Model;
import org.xformers4j.models.lm.LanguageModel;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;

/**
 * {@code --set COMPONENT.PROPERTY=VALUE} and {@code --dry-run} through the commands a user runs
 * ({@code train}, {@code lm train}, {@code seq2seq train}): an override changes what is trained
 * without copying the file, {@code --dry-run} prints the effective configuration and trains nothing,
 * the saved model records the overrides and the values, and a bad override is named.
 */
class ConfigurationOverridesTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final Path WINE_CONFIG = Path.of("../examples/wine-classifier.xml");
    private static final Path WINE_DATA = Path.of("../examples/data/wine.csv");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(HostCommand command, String... args) {
        out.reset();
        err.reset();
        return command.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private int train(String... args) {
        return run(new TrainCommand(REGISTRY), args);
    }

    private int lm(String... args) {
        return run(new LmCommand(REGISTRY), args);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void dryRunPrintsTheEffectiveConfigurationAndTrainsNothing() throws IOException {
        int code = train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--set",
                "trainer.epochs=2", "--set", "architecture.attentionOptions.scale=0.25", "--dry-run");

        assertThat(code).as(err()).isZero();
        String xml = out();
        assertThat(xml).startsWith("<?xml").contains("<property name=\"epochs\" value=\"2\"/>")
                .contains("<entry key=\"scale\" value=\"0.25\"/>")
                .contains("with trainer.epochs=2, architecture.attentionOptions.scale=0.25")
                .doesNotContain("trained on").doesNotContain("Accuracy");
        // Defaults the file leaves out are there: the effective configuration is complete.
        assertThat(xml).contains("<property name=\"gradientAccumulation\" value=\"1\"/>");

        // It is a configuration of its own: read back, it is the same configuration.
        Path effective = Files.writeString(dir.resolve("effective.xml"), xml);
        assertThat(train("--config", effective.toString(), "--train", WINE_DATA.toString(), "--dry-run"))
                .as(err()).isZero();
        assertThat(withoutComment(out())).isEqualTo(withoutComment(xml));
    }

    private static String withoutComment(String xml) {
        return xml.replaceFirst("<!--[^>]*-->", "");
    }

    @Test
    void aTribuoModelRecordsTheOverriddenValuesAndTheOverrides() {
        Path model = dir.resolve("wine.model");
        int code = train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--set",
                "trainer.epochs=1", "--set", "optimization.learningRate=0.0125", "--save", model.toString(), "--json");
        assertThat(code).as(err()).isZero();

        Model<?> loaded = TribuoModelFiles.load(model, REGISTRY);
        Map<String, Provenance> trainer = loaded.getProvenance().getTrainerProvenance().getConfiguredParameters();
        assertThat(trainer.get("epochs").toString()).contains("1");
        Provenance optimization = trainer.get("optimization");
        assertThat(optimization).isInstanceOf(ConfiguredObjectProvenance.class);
        assertThat(((ConfiguredObjectProvenance) optimization).getConfiguredParameters().get("learningRate")
                .toString()).contains("0.0125");

        Map<String, ? extends Provenance> run = loaded.getProvenance().getInstanceProvenance().getMap();
        assertThat(run.get(Command.Configured.FILE).toString()).contains(WINE_CONFIG.toString());
        assertThat(run.get(Command.Configured.OVERRIDES)).isInstanceOf(ListProvenance.class);
        assertThat(((ListProvenance<?>) run.get(Command.Configured.OVERRIDES)).getList())
                .extracting(Object::toString).hasSize(2)
                .anySatisfy(p -> assertThat(p).contains("trainer.epochs=1"))
                .anySatisfy(p -> assertThat(p).contains("optimization.learningRate=0.0125"));
    }

    @Test
    void aLanguageModelRecordsTheOverridesAndItsEffectiveConfiguration() throws IOException {
        Path[] files = LmCommandTest.files(dir, "sliding-window");
        Path model = dir.resolve("model");

        int code = lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--set",
                "trainer.steps=4", "--set", "trainer.evaluateEvery=2", "--set",
                "architecture.attentionOptions.window=4",
                "--save", model.toString());

        assertThat(code).as(err()).isZero();
        assertThat(out()).contains("trained 4 steps");
        Map<String, String> provenance = LanguageModel.load(model, REGISTRY).provenance();
        assertThat(provenance).containsEntry("result.steps", "4")
                .containsEntry(Command.Configured.FILE, files[0].toString())
                .containsEntry(Command.Configured.OVERRIDES,
                        "trainer.steps=4\ntrainer.evaluateEvery=2\narchitecture.attentionOptions.window=4");
        assertThat(provenance.get(Command.Configured.EFFECTIVE)).startsWith("<?xml")
                .contains("<property name=\"steps\" value=\"4\"/>").contains("<entry key=\"window\" value=\"4\"/>");
    }

    @Test
    void everyTrainingCommandTakesSetAndDryRun() throws IOException {
        Path[] files = LmCommandTest.files(dir, "flash");
        assertThat(lm("train", "--config", files[0].toString(), "--text", files[1].toString(), "--set",
                "architecture.layers=3", "--dry-run")).as(err()).isZero();
        assertThat(out()).contains("<property name=\"layers\" value=\"3\"/>").doesNotContain("training");

        Path seq2seq = Files.writeString(dir.resolve("seq2seq.xml"), """
                <config>
                    <component name="trainer" type="org.xformers4j.models.lm.Seq2SeqTrainer">
                        <property name="steps" value="10"/>
                    </component>
                </config>
                """);
        assertThat(run(new Seq2SeqCommand(REGISTRY), "train", "--config", seq2seq.toString(), "--pairs",
                dir.resolve("pairs.tsv").toString(), "--set", "trainer.contextLength=24", "--dry-run"))
                .as(err()).isZero();
        assertThat(out()).contains("<component name=\"trainer\" type=\"org.xformers4j.models.lm.Seq2SeqTrainer\">")
                .contains("<property name=\"contextLength\" value=\"24\"/>")
                .contains("<property name=\"steps\" value=\"10\"/>")
                .contains("<component name=\"trainer-architecture\"");
    }

    @Test
    void aBadOverrideIsNamed() {
        String[] base = {"--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--dry-run"};
        record Case(String set, int exit, List<String> message) {
        }
        for (Case c : List.of(
                new Case("trainr.epochs=1", 1, List.of("--set trainr.epochs=1", "unknown component 'trainr'",
                        "did you mean: trainer?")),
                new Case("trainer.epoch=1", 1, List.of("--set trainer.epoch=1", "no property 'epoch'",
                        "did you mean: epochs?")),
                new Case("trainer.epochs=0", 1, List.of("--set trainer.epochs=0", "outside the valid range")),
                new Case("trainer.epochs=many", 1, List.of("--set trainer.epochs=many", "not an integer")),
                new Case("architecture.attentionOptions.scal=1", 1, List.of(
                        "--set architecture.attentionOptions.scal=1", "unknown option 'scal'")),
                new Case("epochs=1", 1, List.of("--set epochs=1", "expected COMPONENT.PROPERTY=VALUE")),
                new Case("trainer.epochs", 2, List.of("--set must be NAME=VALUE, got 'trainer.epochs'")))) {
            String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base),
                    java.util.stream.Stream.of("--set", c.set())).toArray(String[]::new);
            assertThat(train(args)).as(c.set()).isEqualTo(c.exit());
            assertThat(err()).as(c.set()).contains(c.message());
            assertThat(out()).as(c.set()).isEmpty();
        }
        assertThat(train("--config", WINE_CONFIG.toString(), "--train", WINE_DATA.toString(), "--set",
                "trainer.epochs=1", "--set", "trainer.epochs=2")).isEqualTo(2);
        assertThat(err()).contains("--set trainer.epochs given twice");
    }
}
