package org.xformers4j.models.command;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.xformers4j.models.tribuo.ComponentResolver;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code xformers4j predict --model MODEL --input CSV [--label COLUMN]}: loads a classifier saved
 * by {@code train --save} (Tribuo's {@link Model#deserializeFromFile(Path)}) and prints one line per
 * row of the CSV file, after a header: {@code row,label,probability} (the row from 1 after the
 * header line, the predicted label and its score, a probability when the model produces them).
 * Every column but {@code COLUMN} (default {@code label}, ignored when present) is a feature.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=predict",
        HostCommand.SUMMARY_PROPERTY + "=Predicts the label of each row of a CSV file with a saved classifier"})
public final class PredictCommand extends Command {

    private final ComponentRegistry registry;

    @Activate
    public PredictCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Arguments arguments;
        Path modelFile;
        Path input;
        try {
            arguments = Arguments.parse(args, Set.of("--model", "--input", "--label"), Set.of());
            modelFile = Path.of(arguments.required("--model"));
            input = Path.of(arguments.required("--input"));
        } catch (IllegalArgumentException e) {
            return usageError(err, "predict: " + e.getMessage());
        }
        Model<Label> model;
        List<Example<Label>> rows;
        try {
            model = load(modelFile);
            rows = LabelCsv.unlabelled(input, arguments.get("--label", "label"));
        } catch (IOException | RuntimeException e) {
            return failure(err, "predict: " + messages(e));
        }
        List<Prediction<Label>> predictions = model.predict(rows);
        out.println("row,label,probability");
        for (int i = 0; i < predictions.size(); i++) {
            Label predicted = predictions.get(i).getOutput();
            out.printf(Locale.ROOT, "%d,%s,%.6f%n", i + 1, predicted.getLabel(), predicted.getScore());
        }
        return OK;
    }

    /**
     * The classifier in {@code file}. Models that create components while loading find them
     * through the host's registry, handed to {@link ComponentResolver} first.
     */
    private Model<Label> load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model " + file + ": no such file");
        }
        ComponentResolver.use(registry);
        Model<?> model = Model.deserializeFromFile(file);
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
