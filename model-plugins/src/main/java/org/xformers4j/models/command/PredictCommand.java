package org.xformers4j.models.command;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * {@code xformers4j predict --model MODEL --input CSV [--label COLUMN]}: loads a classifier saved
 * by {@code train --save} (with {@link TribuoModelFiles#load(Path, ComponentRegistry)}, which creates the
 * model's components through the host's registry) and prints one line per
 * row of the CSV file, after a header: {@code row,label,probability} (the row from 1 after the
 * header line, the predicted label and its score, a probability when the model produces them).
 * Every column but {@code COLUMN} (default {@code label}, ignored when present) is a feature. The
 * input must have a column for every feature the model was trained on (missing ones are named
 * and nothing is predicted); columns the model does not know are ignored with a warning. The
 * loader names the file and what is wrong with it;
 * the input is read once, streaming, and predicted {@value #BATCH} rows at a time, so a bad row
 * ({@link LabelCsv}) stops the command with exit code 1 after the lines of the batches before it.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=predict",
        HostCommand.SUMMARY_PROPERTY + "=Predicts the label of each row of a CSV file with a saved classifier"})
public final class PredictCommand extends Command {

    /** Rows predicted per batch: the input is read and predicted streaming, a batch at a time. */
    static final int BATCH = 1024;

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().values("--model", "--input", "--label");

    private final ComponentRegistry registry;

    @Activate
    public PredictCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path modelFile;
        Path input;
        try {
            line = SYNTAX.parse(args);
            modelFile = line.path("--model");
            input = line.path("--input");
        } catch (UsageException e) {
            return usageError(err, "predict: " + e.getMessage());
        }
        String label = line.value("--label", "label");
        Model<Label> model;
        try {
            model = load(modelFile);
        } catch (RuntimeException e) {
            return failure(err, "predict: " + messages(e));
        }
        try (CsvTable table = CsvTable.open(input)) {
            List<String> features = LabelCsv.features(table, label);
            checkFeatures(model, table, features, label, err);
            out.println("row,label,probability");
            long[] row = {0};
            List<Example<Label>> batch = new ArrayList<>(BATCH);
            LabelCsv.unlabelled(table, features, example -> {
                batch.add(example);
                if (batch.size() == BATCH) {
                    row[0] = print(model.predict(batch), row[0], out);
                    batch.clear();
                }
            });
            print(model.predict(batch), row[0], out);
        } catch (RuntimeException e) {
            return failure(err, "predict: " + messages(e));
        }
        return OK;
    }

    /** Prints one line per prediction, numbering the rows after {@code row}; returns the last row's number. */
    private static long print(List<Prediction<Label>> predictions, long row, PrintStream out) {
        for (Prediction<Label> prediction : predictions) {
            Label predicted = prediction.getOutput();
            out.printf(Locale.ROOT, "%d,%s,%.6f%n", ++row, predicted.getLabel(), predicted.getScore());
        }
        return row;
    }

    /**
     * Refuses input that lacks any of the model's features, naming them (a model fed zeros for
     * them would still answer, confidently and wrongly), and warns about columns the model does
     * not know, which it ignores.
     */
    private static void checkFeatures(Model<Label> model, CsvTable table, List<String> features, String label,
                                      PrintStream err) {
        Set<String> known = new TreeSet<>();
        model.getFeatureIDMap().forEach(feature -> known.add(feature.getName()));
        List<String> missing = known.stream().filter(name -> !features.contains(name)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(table.file() + ": lacks " + missing.size() + " of the model's "
                    + known.size() + " features: " + String.join(", ", missing) + " (the file's columns: "
                    + String.join(", ", table.columns()) + "; the label column is '" + label + "', set with --label)");
        }
        List<String> unknown = features.stream().filter(name -> !known.contains(name)).toList();
        if (!unknown.isEmpty()) {
            err.println("predict: warning: " + table.file() + ": column" + (unknown.size() == 1 ? " " : "s ")
                    + String.join(", ", unknown) + " " + (unknown.size() == 1 ? "is not a feature" : "are not features")
                    + " of the model and " + (unknown.size() == 1 ? "is" : "are") + " ignored");
        }
    }

    /** The classifier in {@code file}; a model that creates components while loading finds them in the host's registry. */
    private Model<Label> load(Path file) {
        Model<?> model = TribuoModelFiles.load(file, registry);
        if (!model.validate(Label.class)) {
            throw new IllegalArgumentException("model " + file + " predicts " + model.getOutputIDInfo().getDomain()
                    + ", not class labels");
        }
        return model.castModel(Label.class);
    }

    @Override
    protected String usage() {
        return "usage: xformers4j predict --model MODEL --input CSV [--label COLUMN]";
    }
}
