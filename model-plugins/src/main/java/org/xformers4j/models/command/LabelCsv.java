package org.xformers4j.models.command;

import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Classification data in CSV files with a header line: every column but the label is a numeric
 * feature named by its header. Each file is read once, streaming ({@link CsvTable}): the examples
 * (Tribuo {@link ArrayExample}s) are built row by row into the dataset, and no row is kept
 * besides. Bad data fail with a message naming the file, the row and the column: besides what
 * {@link CsvTable} refuses, a missing label column, a file with no feature column, an empty label,
 * a training file with a single class, and test labels the training data never had.
 */
final class LabelCsv {

    static final LabelFactory LABELS = new LabelFactory();

    private LabelCsv() {
    }

    /** The labelled examples of the training file {@code file}, which must hold at least two classes. */
    static MutableDataset<Label> training(Path file, String labelColumn) {
        MutableDataset<Label> dataset = load(file, labelColumn);
        Set<Label> classes = dataset.getOutputInfo().getDomain();
        if (classes.size() < 2) {
            throw new IllegalArgumentException(file + ": column '" + labelColumn + "' holds one class, '"
                    + classes.iterator().next().getLabel() + "', in all " + dataset.size() + " rows; a classifier "
                    + "needs at least two");
        }
        return dataset;
    }

    /** The labelled examples of the test file {@code file}, whose labels must all be among {@code known}. */
    static MutableDataset<Label> test(Path file, String labelColumn, Set<Label> known) {
        MutableDataset<Label> dataset = load(file, labelColumn);
        for (int i = 0; i < dataset.size(); i++) {                       // examples are in row order
            Label label = dataset.getExample(i).getOutput();
            if (!known.contains(label)) {
                throw new IllegalArgumentException(file + " row " + (i + 1) + ", column '" + labelColumn
                        + "': label '" + label.getLabel() + "' is not among the training labels "
                        + known.stream().map(Label::getLabel).sorted().toList());
            }
        }
        return dataset;
    }

    /** The labelled examples of {@code file}, the label in column {@code labelColumn}. */
    private static MutableDataset<Label> load(Path file, String labelColumn) {
        try (CsvTable table = CsvTable.open(file)) {
            if (!table.columns().contains(labelColumn)) {
                throw new IllegalArgumentException(file + ": no label column '" + labelColumn + "' (columns: "
                        + String.join(", ", table.columns()) + "); name it with --label");
            }
            String[] features = features(table, labelColumn).toArray(String[]::new);
            MutableDataset<Label> dataset = new MutableDataset<>(new SimpleDataSourceProvenance("CSV file " + file
                    + ", label column '" + labelColumn + "'", LABELS), LABELS);
            table.forEach(row -> dataset.add(new ArrayExample<>(new Label(row.text(labelColumn)), features,
                    values(row, features))));
            return dataset;
        }
    }

    /**
     * The feature columns of {@code table}: every column but {@code labelColumn} (which may be
     * absent), in order; there must be one.
     */
    static List<String> features(CsvTable table, String labelColumn) {
        List<String> features = table.columns().stream().filter(column -> !column.equals(labelColumn)).toList();
        if (features.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": no feature column besides the label column '"
                    + labelColumn + "'");
        }
        return features;
    }

    /**
     * Hands each remaining row of {@code table} to {@code action} as an example with an unknown
     * label, its features the columns {@code features}: the input of a prediction.
     */
    static void unlabelled(CsvTable table, List<String> features, Consumer<Example<Label>> action) {
        String[] names = features.toArray(String[]::new);
        table.forEach(row -> action.accept(new ArrayExample<>(LABELS.getUnknownOutput(), names, values(row, names))));
    }

    /** The values of {@code row} in the columns {@code names}, in order. */
    private static double[] values(CsvTable.Row row, String[] names) {
        double[] values = new double[names.length];
        for (int j = 0; j < names.length; j++) {
            values[j] = row.number(names[j]);
        }
        return values;
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
