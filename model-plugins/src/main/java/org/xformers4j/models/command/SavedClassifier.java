package org.xformers4j.models.command;

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
     * The columns of {@code table} as {@code model} reads them. A feature of the model is a column
     * of that name (a number), or {@code column@word}, a word of the text column {@code column}: a
     * model trained with {@code --text} names its text column this way, which becomes the text
     * column here unless {@code given} names one (which must then be the same). Input that lacks
     * any of the model's columns is refused, naming them (a model fed zeros for them would still
     * answer, confidently and wrongly); columns the model does not know are ignored with a warning
     * on {@code err}. The columns returned read exactly the model's numeric columns and its text.
     */
    static LabelCsv.Columns columns(Model<Label> model, CsvTable table, LabelCsv.Columns given, String command,
                                    PrintStream err) {
        List<String> present = table.columns();
        Set<String> numbers = new TreeSet<>();
        Set<String> texts = new TreeSet<>();
        Set<String> missing = new TreeSet<>();
        model.getFeatureIDMap().forEach(feature -> {
            String name = feature.getName();
            int joiner = name.indexOf(ColumnarFeature.JOINER);
            if (present.contains(name)) {
                numbers.add(name);
            } else if (joiner > 0 && present.contains(name.substring(0, joiner))) {
                texts.add(name.substring(0, joiner));
            } else {
                missing.add(joiner > 0 ? name.substring(0, joiner) : name);
            }
        });
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": lacks " + missing.size() + " of the model's "
                    + (numbers.size() + texts.size() + missing.size()) + " columns: " + String.join(", ", missing)
                    + " (the file's columns: " + String.join(", ", present) + "; the label column is '"
                    + given.label() + "', set with --label)");
        }
        if (texts.size() > 1) {
            throw new IllegalArgumentException("model: reads " + texts.size() + " text columns " + texts
                    + "; the commands read one");
        }
        String text = texts.isEmpty() ? given.text() : texts.iterator().next();
        if (given.text() != null && !given.text().equals(text)) {
            throw new IllegalArgumentException("--text " + given.text() + ": the model reads its text from column '"
                    + text + "'");
        }
        LabelCsv.Columns columns = given.reading(text, List.copyOf(numbers));
        List<String> unknown = new ArrayList<>();
        for (String column : LabelCsv.features(table, columns)) {
            if (!numbers.contains(column) && !column.equals(columns.text())) {
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
}
