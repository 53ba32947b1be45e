package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import org.tribuo.Model;
import org.tribuo.classification.Label;
import org.tribuo.data.columnar.ColumnarFeature;
import org.xformers4j.models.tribuo.OrderedTextExtractor;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.ComponentRegistry;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A classifier saved by {@code train --save} and the columns of a file it is applied to, shared by
 * {@link PredictCommand} and {@link EvaluateCommand}.
 */
final class SavedClassifier {

    private SavedClassifier() {
    }

    /**
     * The classifier in {@code file}, loaded with {@link TribuoModelFiles#load(Path, ComponentRegistry)},
     * so a model that creates components while loading finds them in the host's registry.
     */
    static Model<Label> load(Path file, ComponentRegistry registry) {
        Model<?> model = TribuoModelFiles.load(file, registry);
        if (!model.validate(Label.class)) {
            throw new IllegalArgumentException("model " + file + " predicts " + model.getOutputIDInfo().getDomain()
                    + ", not class labels");
        }
        return model.castModel(Label.class);
    }

    /**
     * Checks that {@code model} reads nothing but the text of Tribuo's text format
     * ({@link TextLines}), whose features are {@code text@word}: a model of other columns would
     * meet none of its features there.
     */
    static void checkReadsOnlyText(Model<Label> model, Path file) {
        String prefix = OrderedTextExtractor.TEXT + ColumnarFeature.JOINER;
        Set<String> other = new TreeSet<>();
        model.getFeatureIDMap().forEach(feature -> {
            if (!feature.getName().startsWith(prefix)) {
                other.add(feature.getName());
            }
        });
        if (!other.isEmpty()) {
            throw new IllegalArgumentException(file + ": a file of LABEL##text lines holds only a text, and the model "
                    + "also reads " + other.size() + " other features: " + String.join(", ",
                    other.stream().limit(10).toList()) + (other.size() > 10 ? ", …" : ""));
        }
    }

    /**
     * The columns of {@code table} as {@code model} reads them. A model trained by {@code train}
     * records its numeric, categorical and text columns in its run provenance
     * ({@link LabelCsv.Columns#provenance}); for a model without that record (saved before it was
     * kept), they are inferred from its features: a feature is a column of that name (a number), or
     * {@code column@word}, a word of the text column {@code column}. The model's text column becomes
     * the text column here; {@code given} may name it too, or (for a model that neither records nor
     * reveals one) name one. Input that lacks any of the model's columns is refused, naming them (a
     * model fed zeros for them would still answer, confidently and wrongly); columns the model does not know are ignored with a
     * warning on {@code err}. The columns returned read exactly the model's columns.
     */
    static LabelCsv.Columns columns(Model<Label> model, CsvTable table, LabelCsv.Columns given, String command,
                                    PrintStream err) {
        Map<String, ? extends Provenance> run = model.getProvenance().getInstanceProvenance().getMap();
        boolean kept = run.containsKey(LabelCsv.Columns.NUMERIC_ROLE);
        LabelCsv.Columns recorded = kept ? recorded(run, given) : inferred(model, table, given);
        List<String> present = table.columns();
        Set<String> missing = new TreeSet<>();
        List<String> read = new ArrayList<>(recorded.numbers());
        read.addAll(recorded.categorical());
        if (recorded.text() != null) {
            read.add(recorded.text());
        }
        read.stream().filter(c -> !present.contains(c)).forEach(missing::add);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": lacks " + missing.size() + " of the model's "
                    + read.size() + " columns: " + String.join(", ", missing) + " (the file's columns: "
                    + String.join(", ", present) + "; the label column is '" + given.label() + "', set with --label)");
        }
        String text = kept || recorded.text() != null ? recorded.text() : given.text();
        if (given.text() != null && !given.text().equals(text)) {
            throw new IllegalArgumentException("--text " + given.text() + ": the model reads " + (text == null
                    ? "no text column" : "its text from column '" + text + "'"));
        }
        LabelCsv.Columns columns = given.reading(text, recorded.numbers(), recorded.categorical());
        LabelCsv.features(table, columns);
        List<String> unknown = new ArrayList<>();
        for (String column : present) {
            if (!read.contains(column) && !column.equals(text) && !column.equals(given.label())
                    && !column.equals(given.id())) {
                unknown.add(column);
            }
        }
        if (!unknown.isEmpty()) {
            err.println(command + ": warning: " + table.file() + ": column" + (unknown.size() == 1 ? " " : "s ")
                    + String.join(", ", unknown) + " " + (unknown.size() == 1 ? "is not a feature" : "are not features")
                    + " of the model and " + (unknown.size() == 1 ? "is" : "are") + " ignored");
        }
        return columns;
    }

    /** The columns the run provenance {@code run} of a model records ({@link LabelCsv.Columns#provenance}). */
    private static LabelCsv.Columns recorded(Map<String, ? extends Provenance> run, LabelCsv.Columns given) {
        List<String> text = names(run, LabelCsv.Columns.TEXT_ROLE);
        if (text.size() > 1) {
            throw new IllegalArgumentException("model: its provenance entry " + LabelCsv.Columns.TEXT_ROLE + " names "
                    + text.size() + " text columns " + text + "; the commands read one");
        }
        return given.reading(text.isEmpty() ? null : text.get(0), names(run, LabelCsv.Columns.NUMERIC_ROLE),
                names(run, LabelCsv.Columns.CATEGORICAL_ROLE));
    }

    /** The column names of the run-provenance entry {@code key}: a list of strings. */
    private static List<String> names(Map<String, ? extends Provenance> run, String key) {
        if (!(run.get(key) instanceof ListProvenance<?> list)) {
            throw new IllegalArgumentException("model: its provenance entry " + key + " is "
                    + (run.containsKey(key) ? "not a list of column names" : "missing"));
        }
        List<String> names = new ArrayList<>();
        for (Provenance name : list.getList()) {
            if (!(name instanceof StringProvenance string) || string.getValue().isBlank()) {
                throw new IllegalArgumentException("model: its provenance entry " + key + " holds " + name
                        + ", not a column name");
            }
            names.add(string.getValue());
        }
        return names;
    }

    /**
     * The columns of a model that does not record them, inferred from its features and the
     * columns of {@code table}: a feature named as a column of {@code table} is a numeric column,
     * {@code column@word} a word of the text column {@code column}; a feature that is neither names
     * a missing column (its name, or the part before {@code @}).
     */
    private static LabelCsv.Columns inferred(Model<Label> model, CsvTable table, LabelCsv.Columns given) {
        List<String> present = table.columns();
        Set<String> numbers = new TreeSet<>();
        Set<String> texts = new TreeSet<>();
        model.getFeatureIDMap().forEach(feature -> {
            String name = feature.getName();
            int joiner = name.indexOf(ColumnarFeature.JOINER);
            if (present.contains(name) || joiner <= 0) {
                numbers.add(name);
            } else {
                texts.add(name.substring(0, joiner));
            }
        });
        if (texts.size() > 1 && texts.stream().filter(present::contains).count() > 1) {
            throw new IllegalArgumentException("model: reads " + texts.size() + " text columns " + texts
                    + "; the commands read one");
        }
        // Of several, a text column the file lacks is reported missing beside the one it has.
        String text = texts.stream().filter(present::contains).findFirst().orElse(texts.isEmpty() ? null
                : texts.iterator().next());
        texts.remove(text);
        numbers.addAll(texts);
        return given.reading(text, List.copyOf(numbers), List.of());
    }
}
