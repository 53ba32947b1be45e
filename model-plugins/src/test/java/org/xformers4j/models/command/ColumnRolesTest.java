package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.xformers4j.models.tribuo.EncoderModule;
import org.xformers4j.models.tribuo.FeatureTokens;
import org.xformers4j.models.tribuo.LabelHead;
import org.xformers4j.models.tribuo.TransformerTrainer;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.ComponentRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Numeric, categorical and text columns through the commands a user runs: {@code train
 * --categorical} records each column's role in the model, {@code predict} and {@code evaluate}
 * read them back (and infer them for a model that does not record them), and the text column a
 * configuration declares.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ColumnRolesTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final String[] CITIES = {"New York", "San Jose"};
    private static final String[] COLOURS = {"red", "green", "blue"};

    @TempDir
    Path dir;

    private Path data;
    private Path model;

    /** The label is said by the city alone; size, colour and note are noise. */
    @BeforeAll
    void trainOnce(@TempDir Path shared) throws IOException {
        SplittableRandom random = new SplittableRandom(5);
        String[] words = {"the", "parcel", "arrived", "late", "early", "box", "was", "fine"};
        List<String> lines = new ArrayList<>(List.of("key,size,city,colour,note,label"));
        for (int i = 0; i < 100; i++) {
            int city = random.nextInt(2);
            String note = words[random.nextInt(words.length)] + " " + words[random.nextInt(words.length)];
            lines.add("k" + i + "," + random.nextInt(100) + "," + CITIES[city] + "," + COLOURS[random.nextInt(3)]
                    + ",\"" + note + "\"," + (city == 0 ? "east" : "west"));
        }
        data = Files.write(shared.resolve("parcels.csv"), lines);
        model = shared.resolve("parcels.tribuo");
        Run run = run(new TrainCommand(REGISTRY), "--config", config(shared, "FeatureTokens", "").toString(),
                "--train", data.toString(), "--id", "key", "--categorical", "city", "--categorical", "colour",
                "--text", "note", "--save", model.toString(), "--json");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(number(run.out(), "accuracy")).isGreaterThanOrEqualTo(0.9);
    }

    @Test
    void aCategoryIsOneFeatureOfValueOneAndOneFeatureToken() {
        LabelCsv.Columns columns = new LabelCsv.Columns("label", "note", "key", null, null, List.of("city", "colour"),
                false);
        MutableDataset<Label> dataset = LabelCsv.training(data, columns);
        Example<Label> first = dataset.getExample(0);
        Map<String, Double> values = new TreeMap<>();
        for (Feature f : first) {
            values.put(f.getName(), f.getValue());
        }
        String city = values.keySet().stream().filter(n -> n.startsWith("city@")).findFirst().orElseThrow();
        assertThat(List.of("city@New York", "city@San Jose")).contains(city);       // the whole value, not its words
        assertThat(values.get(city)).isEqualTo(1.0);
        assertThat(values).containsKey("size");
        assertThat(dataset.getFeatureIDMap().get("city@new")).isNull();

        EncoderModule encoder = new FeatureTokens().fit(dataset.getFeatureIDMap(), dataset.getData(), 8,
                new SplittableRandom(1));
        List<List<String>> tokens = encoder.tokenFeatures(first);
        assertThat(tokens).filteredOn(t -> t.equals(List.of("city@New York"))).hasSize(1);
        assertThat(tokens).filteredOn(t -> t.equals(List.of("city@San Jose"))).hasSize(1);
        assertThat(tokens).filteredOn(t -> t.get(0).startsWith("colour@")).hasSize(3);

        Model<?> loaded = TribuoModelFiles.load(model);
        assertThat(loaded.getFeatureIDMap().get("city@New York")).isNotNull();
        Map<String, ? extends Provenance> run = loaded.getProvenance().getInstanceProvenance().getMap();
        assertThat(names(run.get(LabelCsv.Columns.NUMERIC_ROLE))).containsExactly("size");
        assertThat(names(run.get(LabelCsv.Columns.CATEGORICAL_ROLE))).containsExactly("city", "colour");
        assertThat(names(run.get(LabelCsv.Columns.TEXT_ROLE))).containsExactly("note");
    }

    @Test
    void predictAndEvaluateReadTheRolesTheModelRecords() throws IOException {
        // Another column order, no label, no options naming columns: the roles come from the model.
        List<String> reordered = new ArrayList<>(List.of("note,colour,city,size"));
        reordered.add("\"box was fine\",red,San Jose,3");
        reordered.add("\"the parcel arrived late\",blue,New York,70");
        Run predicted = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input",
                Files.write(dir.resolve("new.csv"), reordered).toString());
        assertThat(predicted.code()).as(predicted.err()).isZero();
        assertThat(predicted.err()).isEmpty();
        assertThat(predicted.out().lines().toList()).hasSize(3).satisfies(lines -> {
            assertThat(lines.get(1)).startsWith("1,west,");
            assertThat(lines.get(2)).startsWith("2,east,");
        });

        Run evaluated = run(new EvaluateCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--id", "key", "--json");
        assertThat(evaluated.code()).as(evaluated.err()).isZero();
        assertThat(number(evaluated.out(), "accuracy")).isGreaterThanOrEqualTo(0.9);

        Path noCity = Files.write(dir.resolve("no-city.csv"), List.of("note,colour,size", "box,red,3"));
        Run missing = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", noCity.toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains(noCity + ": lacks 1 of the model's 4 columns: city");
        Run otherText = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", data.toString(),
                "--text", "colour");
        assertThat(otherText.code()).isEqualTo(1);
        assertThat(otherText.err()).contains("--text colour: the model reads its text from column 'note'");
        Path textless = dir.resolve("textless.tribuo");
        Run trainedTextless = run(new TrainCommand(REGISTRY), "--config", config(dir, "FeatureTokens", "").toString(),
                "--train", data.toString(), "--id", "key", "--categorical", "city,colour,note", "--save",
                textless.toString());
        assertThat(trainedTextless.code()).as(trainedTextless.err()).isZero();
        Run noText = run(new PredictCommand(REGISTRY), "--model", textless.toString(), "--input", data.toString(),
                "--text", "note");
        assertThat(noText.code()).isEqualTo(1);
        assertThat(noText.err()).contains("--text note: the model reads no text column");
                Path emptyCity = Files.write(dir.resolve("empty-city.csv"), List.of("note,colour,city,size", "box,red,,3"));
        Run empty = run(new PredictCommand(REGISTRY), "--model", model.toString(), "--input", emptyCity.toString());
        assertThat(empty.code()).isEqualTo(1);
        assertThat(empty.err()).contains(emptyCity + " row 1, column 'city': empty");
    }

    @Test
    void aModelWithoutRecordedRolesIsReadByItsFeatures() throws IOException {
        LabelCsv.Columns columns = new LabelCsv.Columns("label", "note", "key", null, null, List.of(), false);
        MutableDataset<Label> dataset = LabelCsv.training(dropColumns(), columns);
        TransformerTrainer<Label> trainer = TransformerTrainer.builder(new FeatureTokens(), new LabelHead())
                .epochs(1).build();
        Path old = dir.resolve("old.tribuo");
        TribuoModelFiles.save(trainer.train(dataset), old);                        // no run provenance at all
        Run predicted = run(new PredictCommand(REGISTRY), "--model", old.toString(), "--input", data.toString(),
                "--id", "key");
        assertThat(predicted.code()).as(predicted.err()).isZero();
        assertThat(predicted.err()).contains("columns city, colour are not features of the model and are ignored");
        assertThat(predicted.out().lines().count()).isEqualTo(101);

        Path tampered = dir.resolve("tampered.tribuo");
        TribuoModelFiles.save(trainer.train(dataset, Map.of(LabelCsv.Columns.TEXT_ROLE, new ListProvenance<>(),
                LabelCsv.Columns.CATEGORICAL_ROLE, new ListProvenance<>(), LabelCsv.Columns.NUMERIC_ROLE,
                new StringProvenance(LabelCsv.Columns.NUMERIC_ROLE, "size"))), tampered);
        Run refused = run(new PredictCommand(REGISTRY), "--model", tampered.toString(), "--input", data.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("model: its provenance entry data.numeric-columns is not a list of column "
                + "names");
    }

    @Test
    void theConfigurationDeclaresTheTextColumn() throws IOException {
        Path declared = config(dir, "TextTokens", "<property name=\"column\" value=\"note\"/>");
        Path declaredModel = dir.resolve("declared.tribuo");
        Run trained = run(new TrainCommand(REGISTRY), "--config", declared.toString(), "--train", data.toString(),
                "--id", "key", "--categorical", "city,colour", "--save", declaredModel.toString(), "--json");
        assertThat(trained.code()).as(trained.err()).isZero();
        Model<?> loaded = TribuoModelFiles.load(declaredModel);
        assertThat(names(loaded.getProvenance().getInstanceProvenance().getMap().get(LabelCsv.Columns.TEXT_ROLE)))
                .containsExactly("note");
        assertThat(loaded.getFeatureIDMap().get("note@parcel")).isNotNull();

        Run same = run(new TrainCommand(REGISTRY), "--config", declared.toString(), "--train", data.toString(),
                "--id", "key", "--categorical", "city,colour", "--text", "note", "--json");
        assertThat(same.code()).as(same.err()).isZero();
        assertThat(same.out()).startsWith("{\"accuracy\":");
        Run clash = run(new TrainCommand(REGISTRY), "--config", declared.toString(), "--train", data.toString(),
                "--id", "key", "--text", "colour");
        assertThat(clash.code()).isEqualTo(1);
        assertThat(clash.err()).contains("--text colour clashes with the text column 'note' the configuration's "
                + "encoder declares");
        Run overridden = run(new TrainCommand(REGISTRY), "--config", declared.toString(), "--train", data.toString(),
                "--id", "key", "--set", "encoder.column=body");
        assertThat(overridden.code()).isEqualTo(1);
        assertThat(overridden.err()).contains(data + ": no column 'body'");
        Path blankColumn = config(dir, "TextTokens", "<property name=\"column\" value=\" \"/>");
        Run blank = run(new TrainCommand(REGISTRY), "--config", blankColumn.toString(), "--train", data.toString());
        assertThat(blank.code()).isEqualTo(1);
        assertThat(blank.err()).contains("TextTokens: column is blank");
    }

    @Test
    void badCategoricalOptionsAreNamed() {
        String config = config(dir, "FeatureTokens", "").toString();
        for (String[] bad : new String[][] {
                {"city,,colour", "--categorical city,,colour: an empty column name"},
                {"city,city", "--categorical city,city: column 'city' is named twice"},
                {"label", "--categorical label: column 'label' is already the label column"},
                {"shape", data + ": no column 'shape'"}}) {
            Run run = run(new TrainCommand(REGISTRY), "--config", config, "--train", data.toString(), "--id", "key",
                    "--text", "note", "--categorical", bad[0]);
            assertThat(run.code()).as(bad[0]).isEqualTo(1);
            assertThat(run.err()).as(bad[0]).contains(bad[1]);
        }
        Run notANumber = run(new TrainCommand(REGISTRY), "--config", config, "--train", data.toString(), "--id", "key",
                "--text", "note");
        assertThat(notANumber.err()).contains("column 'city': not a number: 'New York' (a column of text, of "
                + "categories or of row names? name it with --text, --categorical or --id)");
    }

    /** The training file without its categorical columns. */
    private Path dropColumns() throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(data)) {
            String[] cells = line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)");
            lines.add(cells[0] + "," + cells[1] + "," + cells[4] + "," + cells[5]);
        }
        return Files.write(dir.resolve("no-categories.csv"), lines);
    }

    private static List<String> names(Provenance provenance) {
        return ((ListProvenance<?>) provenance).getList().stream().map(p -> ((StringProvenance) p).getValue()).toList();
    }

    /** A small trainer configuration with the encoder {@code encoder} and its properties {@code properties}. */
    private static Path config(Path dir, String encoder, String properties) {
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                    <component name="trainer" type="org.xformers4j.models.tribuo.TransformerTrainer">
                        <property name="encoder" value="encoder"/>
                        <property name="head" value="head"/>
                        <property name="architecture" value="architecture"/>
                        <property name="epochs" value="8"/>
                        <property name="run" value="run"/>
                    </component>
                    <component name="run" type="org.xformers4j.train.RunSettings">
                        <property name="batchSize" value="8"/>
                        <property name="seed" value="3"/>
                    </component>
                    <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                        <property name="attention" value="full"/>
                        <property name="positional" value="none"/>
                        <property name="modelDim" value="16"/>
                        <property name="heads" value="2"/>
                        <property name="layers" value="1"/>
                    </component>
                    <component name="encoder" type="org.xformers4j.models.tribuo.%s">%s</component>
                    <component name="head" type="org.xformers4j.models.tribuo.LabelHead"/>
                </config>
                """.formatted(encoder, properties);
        try {
            return Files.writeString(dir.resolve(encoder + properties.length() + ".xml"), xml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Run(int code, String out, String err) {
    }

    /** The number of the first field {@code name} of a JSON text. */
    private static double number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\\s*([-0-9.eE]+)").matcher(json);
        assertThat(m.find()).as(name + " in " + json).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static Run run(Command command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = command.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
