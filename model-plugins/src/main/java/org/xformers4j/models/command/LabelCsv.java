package org.xformers4j.models.command;

import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.data.csv.CSVIterator;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Classification data in CSV files with a header line, read with Tribuo's {@link CSVLoader} (every
 * column but the label is a numeric feature named by its header), and checked so that bad data fails
 * with a message naming the file, the row and the column: a missing file, a file without examples,
 * a missing label column, a value that is not a number, a NaN or infinite feature (Tribuo's own
 * check rejects the whole example without saying where).
 */
final class LabelCsv {

    static final LabelFactory LABELS = new LabelFactory();

    private LabelCsv() {
    }

    /** The labelled examples of {@code file}, the label in column {@code labelColumn}. */
    static MutableDataset<Label> load(Path file, String labelColumn) {
        List<String> columns = header(file);
        if (!columns.contains(labelColumn)) {
            throw new IllegalArgumentException(file + ": no label column '" + labelColumn + "' (columns: "
                    + String.join(", ", columns) + "); name it with --label");
        }
        features(file, columns, labelColumn);
        try {
            return new CSVLoader<>(LABELS).load(file, labelColumn);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": cannot read the examples: " + Command.messages(e), e);
        }
    }

    /**
     * The rows of {@code file} as examples with an unknown label, every column but
     * {@code labelColumn} (which may be absent) a feature: the input of a prediction.
     */
    static List<Example<Label>> unlabelled(Path file, String labelColumn) {
        List<String> columns = header(file);
        String[] names = columns.stream().filter(column -> !column.equals(labelColumn)).toArray(String[]::new);
        List<Example<Label>> out = new ArrayList<>();
        for (double[] values : features(file, columns, labelColumn)) {
            out.add(new ArrayExample<>(LABELS.getUnknownOutput(), names, values));
        }
        return out;
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

    /** The column names of {@code file}'s header line, which must exist and be followed by a row. */
    private static List<String> header(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file");
        }
        List<String> fields;
        boolean hasRow;
        try (CSVIterator rows = new CSVIterator(file.toUri())) {
            fields = rows.getFields();
            hasRow = rows.hasNext();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": not CSV with a header line: " + Command.messages(e), e);
        }
        if (fields.isEmpty() || !hasRow) {
            throw new IllegalArgumentException(file + ": empty, expected a header line and at least one row");
        }
        return fields;
    }

    /**
     * Per row of {@code file}, the values of every column but {@code labelColumn}, in column order;
     * each must be a finite number. Rows are counted from 1 after the header line.
     */
    private static List<double[]> features(Path file, List<String> columns, String labelColumn) {
        List<Map<String, String>> rows = new ArrayList<>();
        try (CSVIterator iterator = new CSVIterator(file.toUri())) {
            iterator.forEachRemaining(row -> rows.add(row.getRowData()));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": cannot read the rows: " + Command.messages(e), e);
        }
        List<String> featureColumns = columns.stream().filter(column -> !column.equals(labelColumn)).toList();
        List<double[]> out = new ArrayList<>();
        for (Map<String, String> cells : rows) {
            String where = file + " row " + (out.size() + 1);
            double[] values = new double[featureColumns.size()];
            for (int j = 0; j < values.length; j++) {
                String column = featureColumns.get(j);
                String cell = cells.get(column);
                if (cell == null) {
                    throw new IllegalArgumentException(where + ": no value for column '" + column + "'");
                }
                try {
                    values[j] = Double.parseDouble(cell.trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + ", column '" + column + "': not a number: '" + cell + "'");
                }
                if (!Double.isFinite(values[j])) {
                    throw new IllegalArgumentException(where + ", column '" + column + "': " + cell
                            + " (features must be finite numbers)");
                }
            }
            out.add(values);
        }
        return out;
    }
}
