package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.data.columnar.FieldExtractor;
import org.tribuo.data.columnar.FieldProcessor;
import org.tribuo.data.columnar.RowProcessor;
import org.tribuo.data.columnar.extractors.IdentityExtractor;
import org.tribuo.data.columnar.processors.field.DoubleFieldProcessor;
import org.tribuo.data.columnar.processors.field.IdentityProcessor;
import org.tribuo.data.columnar.processors.field.TextFieldProcessor;
import org.tribuo.data.columnar.processors.response.FieldResponseProcessor;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.util.tokens.impl.BreakIteratorTokenizer;
import org.xformers4j.models.tribuo.OrderedTextExtractor;
import org.xformers4j.models.tribuo.TextTokens;
import org.xformers4j.models.tribuo.TransformerTrainer;
import org.xformers4j.registry.CommandLine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * Classification data in CSV or TSV files with a header line, read through Tribuo's columnar
 * loading: a {@link RowProcessor} whose field processors turn each row into an example. Every
 * column but the label, the text, the id and the categorical columns is a numeric feature named by
 * its header ({@link DoubleFieldProcessor}); a categorical column ({@code --categorical}) becomes
 * one feature {@code column@value} of value 1 ({@link IdentityProcessor}: the value is one token,
 * whatever it holds); the text column ({@code --text}) becomes its bag of words
 * ({@link TextFieldProcessor} with an {@link OrderedTextExtractor}: features {@code column@word})
 * and travels whole, in order, as the example's metadata {@value OrderedTextExtractor#TEXT} (an
 * {@link IdentityExtractor}), which the ordered-text encoder reads; the id column ({@code --id})
 * names the rows in predictions and is no feature.
 *
 * <p>Each file is read once, streaming ({@link CsvTable}): examples are built row by row into the
 * dataset, and no row is kept besides. Each cell the processors read is checked first, so bad data
 * fail with a message naming the file, the row and the column: besides what {@link CsvTable}
 * refuses, a missing label, text, id or categorical column, a file with no feature column, an
 * empty label, text or category, a training file with a single class, and test labels the training data never had.
 */
final class LabelCsv {

    static final LabelFactory LABELS = new LabelFactory();

    private LabelCsv() {
    }

    /**
     * What the columns of a file are: the label column, the text column and the id column (each
     * null when there is none), the cell separator option ({@code --separator}; null: by the
     * file's extension, {@link CsvTable#separator}), the numeric feature columns (null: every
     * other column; {@link #resolved} and a model's reader name them), the categorical columns
     * ({@code --categorical}), and whether the files are not CSV but Tribuo's text format
     * ({@link TextLines}), whose one text column is {@value OrderedTextExtractor#TEXT}.
     */
    record Columns(String label, String text, String id, String separator, List<String> numbers,
                   List<String> categorical, boolean textLines) {

        /** The values of {@code --format}. */
        static final List<String> FORMATS = List.of("csv", "text");

        /** The run-provenance entry of a model's numeric columns, a list of column names. */
        static final String NUMERIC_ROLE = "data.numeric-columns";
        /** The run-provenance entry of a model's categorical columns, a list of column names. */
        static final String CATEGORICAL_ROLE = "data.categorical-columns";
        /** The run-provenance entry of a model's text column, a list of none or one column name. */
        static final String TEXT_ROLE = "data.text-column";

        Columns {
            categorical = List.copyOf(categorical);
        }

        /** The label column {@code label}, nothing else declared. */
        static Columns of(String label) {
            return new Columns(label, null, null, null, null, List.of(), false);
        }

        /** The columns named by the options {@code --label} (default {@code label}), {@code --text}, {@code --id} and {@code --separator}. */
        static Columns of(CommandLine line) {
            return new Columns(line.value("--label", "label"), line.value("--text", null), line.value("--id", null),
                    line.value("--separator", null), null, List.of(), false);
        }

        /**
         * The columns of training data: those of {@link #of(CommandLine)}, the categorical columns
         * of the repeatable {@code --categorical} (each value one column or a comma-separated list),
         * the text column {@code --text} or else {@code declaredText}, the column the configuration's
         * text encoder declares (when both are given they must agree), in the format of
         * {@code --format}.
         */
        static Columns training(CommandLine line, Optional<String> declaredText) {
            Columns given = of(line);
            String text = given.text();
            if (text != null && declaredText.isPresent() && !declaredText.get().equals(text)) {
                throw new IllegalArgumentException("--text " + text + " clashes with the text column '"
                        + declaredText.get() + "' the configuration's encoder declares (its property column): "
                        + "drop --text, or change the column with --set ENCODER.column=" + text);
            }
            boolean lines = line.value("--format", "csv").equals("text");
            if (text == null && !lines) {
                text = declaredText.orElse(null);
            }
            List<String> categorical = new ArrayList<>();
            for (String value : line.all("--categorical")) {
                for (String column : value.split(",", -1)) {
                    if (column.isBlank()) {
                        throw new IllegalArgumentException("--categorical " + value + ": an empty column name");
                    }
                    if (categorical.contains(column) || column.equals(given.label()) || column.equals(text)
                            || column.equals(given.id())) {
                        throw new IllegalArgumentException("--categorical " + value + ": column '" + column + "' is "
                                + (categorical.contains(column) ? "named twice"
                                : "already the " + (column.equals(given.label()) ? "label" : column.equals(text)
                                ? "text" : "id") + " column"));
                    }
                    categorical.add(column);
                }
            }
            return new Columns(given.label(), text, given.id(), given.separator(), null, categorical, false)
                    .inFormat(line.value("--format", "csv"));
        }

        /**
         * These columns in the format {@code format} ({@code --format}: {@code csv}, or {@code text}
         * for Tribuo's {@code LABEL##text} lines, which have no columns to name).
         */
        Columns inFormat(String format) {
            if (!FORMATS.contains(format)) {
                throw new IllegalArgumentException("--format must be one of " + FORMATS + ", got '" + format + "'");
            }
            boolean lines = format.equals("text");
            if (lines && (text != null || id != null || separator != null || !categorical.isEmpty())) {
                throw new IllegalArgumentException("--format text: a file of LABEL##text lines has no columns to name "
                        + "with --text, --categorical, --id or --separator");
            }
            return new Columns(label, lines ? OrderedTextExtractor.TEXT : text, id, separator,
                    lines ? List.of() : numbers, categorical, lines);
        }

        /** These columns with the text column {@code text}, the numeric columns {@code numbers} and the categorical columns {@code categorical}. */
        Columns reading(String text, List<String> numbers, List<String> categorical) {
            return new Columns(label, text, id, separator, List.copyOf(numbers), categorical, textLines);
        }

        /**
         * These columns with their numeric columns named: every column of {@code file}'s header
         * line that is no other column, checked to hold the label column and each declared one.
         */
        Columns resolved(Path file) {
            if (numbers != null) {
                return this;
            }
            try (CsvTable table = open(file)) {
                checkLabel(table, this);
                return reading(text, numeric(table, this), categorical);
            }
        }

        /**
         * What a model trained on these (resolved) columns records of them in its run provenance,
         * so that {@code predict} and {@code evaluate} read the same columns the same way.
         */
        Map<String, Provenance> provenance() {
            return Map.of(NUMERIC_ROLE, names(NUMERIC_ROLE, numbers), CATEGORICAL_ROLE, names(CATEGORICAL_ROLE,
                    categorical), TEXT_ROLE, names(TEXT_ROLE, text == null ? List.of() : List.of(text)));
        }

        private static ListProvenance<StringProvenance> names(String key, List<String> columns) {
            return new ListProvenance<>(columns.stream().map(c -> new StringProvenance(key, c)).toList());
        }

        /** Opens {@code file} with this separator. */
        CsvTable open(Path file) {
            return CsvTable.open(file, CsvTable.separator(file, separator));
        }

        /** Whether {@code column} holds no numeric feature: the label, the id, the text or a categorical column. */
        private boolean reserved(String column) {
            return column.equals(label) || column.equals(text) || column.equals(id) || categorical.contains(column);
        }
    }

    /**
     * The text column the configuration of {@code trainer} declares: that of its encoder when it is
     * a transformer reading ordered text ({@link TextTokens#column}).
     */
    static Optional<String> declaredText(Trainer<?> trainer) {
        return trainer instanceof TransformerTrainer<?> transformer && transformer.encoder() instanceof TextTokens text
                ? text.column() : Optional.empty();
    }

    /** The labelled examples of the training file {@code file}, which must hold at least two classes. */
    static MutableDataset<Label> training(Path file, Columns columns) {
        MutableDataset<Label> dataset = load(file, columns);
        Set<Label> classes = dataset.getOutputInfo().getDomain();
        if (classes.size() < 2) {
            throw new IllegalArgumentException(file + ": column '" + columns.label() + "' holds one class, '"
                    + classes.iterator().next().getLabel() + "', in all " + dataset.size() + " rows; a classifier "
                    + "needs at least two");
        }
        return dataset;
    }

    /** The labelled examples of the test file {@code file}, whose labels must all be among {@code known}. */
    static MutableDataset<Label> test(Path file, Columns columns, Set<Label> known) {
        MutableDataset<Label> dataset = load(file, columns);
        for (int i = 0; i < dataset.size(); i++) {                       // examples are in row order
            Example<Label> example = dataset.getExample(i);
            Label label = example.getOutput();
            if (!known.contains(label)) {
                throw new IllegalArgumentException(file + (columns.textLines() ? " line " + TextLines.line(example)
                        : " row " + (i + 1) + ", column '" + columns.label() + "'")
                        + ": label '" + label.getLabel() + "' is not among the training labels "
                        + known.stream().map(Label::getLabel).sorted().toList());
            }
        }
        return dataset;
    }

    /** The labelled examples of {@code file}. */
    private static MutableDataset<Label> load(Path file, Columns columns) {
        if (columns.textLines()) {
            return TextLines.read(file);
        }
        try (CsvTable table = columns.open(file)) {
            checkLabel(table, columns);
            MutableDataset<Label> dataset = new MutableDataset<>(new SimpleDataSourceProvenance("CSV file " + file
                    + ", label column '" + columns.label() + "'" + (columns.text() == null ? ""
                    : ", text column '" + columns.text() + "'"), LABELS), LABELS);
            forEach(table, columns, true, (id, example) -> dataset.add(example));
            return dataset;
        }
    }

    /** Checks that {@code table} has the label column. */
    static void checkLabel(CsvTable table, Columns columns) {
        if (!table.columns().contains(columns.label())) {
            throw new IllegalArgumentException(table.file() + ": no label column '" + columns.label() + "' (columns: "
                    + String.join(", ", table.columns()) + "); name it with --label");
        }
    }

    /**
     * The feature columns of {@code table}: the numeric ones ({@link #numeric}), the categorical
     * ones, and the text column last; there must be one, and {@code table} must hold each column
     * {@code columns} names.
     */
    static List<String> features(CsvTable table, Columns columns) {
        List<String> declared = new ArrayList<>(columns.categorical());
        declared.add(columns.text());
        declared.add(columns.id());
        if (columns.numbers() != null) {
            declared.addAll(columns.numbers());
        }
        List<String> absent = declared.stream().filter(c -> c != null && !table.columns().contains(c)).toList();
        if (!absent.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": no column" + (absent.size() == 1 ? " '" : "s '")
                    + String.join("', '", absent) + "' (columns: " + String.join(", ", table.columns()) + ")");
        }
        List<String> features = new ArrayList<>(columns.numbers() != null ? columns.numbers() : numeric(table, columns));
        features.addAll(columns.categorical());
        if (columns.text() != null) {
            features.add(columns.text());
        }
        if (features.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": no feature column besides the label column '"
                    + columns.label() + "'" + (columns.id() == null ? "" : " and the id column '" + columns.id() + "'"));
        }
        return features;
    }

    /** The numeric columns of {@code table}: every column but the label, id, text and categorical ones, in order. */
    private static List<String> numeric(CsvTable table, Columns columns) {
        return table.columns().stream().filter(c -> !columns.reserved(c)).toList();
    }

    /**
     * Hands each remaining row of {@code table} to {@code action} as its id (the cell of the id
     * column, or the row's number from 1 after the header) and its example: labelled when
     * {@code labelled}, else with an unknown label (the input of a prediction, which may lack the
     * label column).
     */
    static void forEach(CsvTable table, Columns columns, boolean labelled, BiConsumer<String, Example<Label>> action) {
        features(table, columns);
        List<String> numeric = columns.numbers() != null ? columns.numbers() : numeric(table, columns);
        RowProcessor<Label> processor = processor(numeric, columns);
        table.forEach(row -> {
            if (labelled) {
                row.text(columns.label());
            }
            numeric.forEach(row::number);
            columns.categorical().forEach(row::text);
            if (columns.text() != null) {
                row.text(columns.text());
            }
            String id = columns.id() == null ? Long.toString(row.number()) : row.text(columns.id());
            Example<Label> example = processor.generateExample(row.columnar(), labelled).orElseThrow(() ->
                    new IllegalArgumentException(table.file() + " row " + row.number() + ": Tribuo's RowProcessor "
                            + "made no example of it"));
            action.accept(id, example);
        });
    }

    /**
     * Tribuo's row processor for these columns: numbers, categories (feature {@code column@value},
     * value 1), the text's bag of words and the text as metadata, the label.
     */
    private static RowProcessor<Label> processor(List<String> numeric, Columns columns) {
        Map<String, FieldProcessor> fields = new LinkedHashMap<>();
        for (String column : numeric) {
            fields.put(column, new DoubleFieldProcessor(column, true, true));
        }
        for (String column : columns.categorical()) {
            fields.put(column, new IdentityProcessor(column));
        }
        List<FieldExtractor<?>> metadata = new ArrayList<>();
        if (columns.text() != null) {
            fields.put(columns.text(), new TextFieldProcessor(columns.text(),
                    new OrderedTextExtractor<Label>(new BreakIteratorTokenizer(Locale.ROOT), true)));
            metadata.add(new IdentityExtractor(columns.text(), OrderedTextExtractor.TEXT));
        }
        return new RowProcessor<>(metadata, null, new FieldResponseProcessor<>(List.of(columns.label()),
                List.of(""), LABELS, false, false), fields,
                Collections.emptySet());
    }

    /** The training and test halves of a stratified split: per label, a shuffled {@code trainFraction}. */
    record Split(MutableDataset<Label> train, MutableDataset<Label> test) {
    }

    /**
     * Per label, the examples shuffled with {@code seed} (Fisher-Yates), the first
     * {@code round(n * trainFraction)} for training and the rest for testing.
     */
    static Split stratifiedSplit(MutableDataset<Label> dataset, double trainFraction, long seed) {
        Map<String, List<Example<Label>>> byLabel = new TreeMap<>();
        for (Example<Label> e : dataset) {
            byLabel.computeIfAbsent(e.getOutput().getLabel(), k -> new ArrayList<>()).add(e);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example<Label>> train = new ArrayList<>();
        List<Example<Label>> test = new ArrayList<>();
        for (List<Example<Label>> group : byLabel.values()) {
            for (int i = group.size() - 1; i > 0; i--) {
                Collections.swap(group, i, rng.nextInt(i + 1));
            }
            int cut = (int) Math.round(group.size() * trainFraction);
            train.addAll(group.subList(0, cut));
            test.addAll(group.subList(cut, group.size()));
        }
        String name = "stratified " + trainFraction + " split (seed " + seed + ") of "
                + dataset.getProvenance().toString();
        return new Split(dataset(train, "train part of " + name), dataset(test, "test part of " + name));
    }

    private static MutableDataset<Label> dataset(List<Example<Label>> examples, String description) {
        return new MutableDataset<>(new ListDataSource<>(examples, LABELS,
                new SimpleDataSourceProvenance(description, LABELS)));
    }
}
