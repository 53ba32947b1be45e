package org.xformers4j.models.command;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--trainer NAME]
 * [--save MODEL] [--json]}: builds the trainer named {@code NAME} (default {@code trainer}) from the
 * OLCUT configuration file, trains it on the labelled CSV file, evaluates the model with Tribuo's
 * {@link LabelEvaluator} on the test file (or, without {@code --test}, on a stratified 20% of the
 * training file held out with seed 1) and prints the evaluation and the confusion matrix; with
 * {@code --json}, only {@code {"accuracy":…, "macro_f1":…, "train_seconds":…, "examples":…}}
 * (examples: the number of training examples). {@code --save} writes the model with
 * {@link Model#serializeToFile(Path)}, loadable by {@link PredictCommand}.
 *
 * <p>The components the configuration names (attention mechanisms, positional encodings) are found
 * through the host's {@link ComponentRegistry}, handed to {@link ComponentResolver} first; an unknown
 * name fails with the trainer's message naming the closest registered ones.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=train",
        HostCommand.SUMMARY_PROPERTY + "=Trains and evaluates a classifier configured in an OLCUT XML file on CSV data"})
public final class TrainCommand extends Command {

    /** Seed and training fraction of the split used when no test file is given. */
    static final long SPLIT_SEED = 1;
    static final double TRAIN_FRACTION = 0.8;

    private final ComponentRegistry registry;

    @Activate
    public TrainCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Arguments arguments;
        Path config;
        Path trainFile;
        try {
            arguments = Arguments.parse(args, Set.of("--config", "--train", "--test", "--label", "--save", "--trainer"),
                    Set.of("--json"));
            config = Path.of(arguments.required("--config"));
            trainFile = Path.of(arguments.required("--train"));
        } catch (IllegalArgumentException e) {
            return usageError(err, "train: " + e.getMessage());
        }
        String label = arguments.get("--label", "label");
        Trainer<Label> trainer;
        MutableDataset<Label> train;
        MutableDataset<Label> test;
        try {
            trainer = trainer(config, arguments.get("--trainer", "trainer"));
            train = LabelCsv.load(trainFile, label);
            if (arguments.has("--test")) {
                test = LabelCsv.load(Path.of(arguments.required("--test")), label);
            } else {
                LabelCsv.Split split = LabelCsv.stratifiedSplit(train, TRAIN_FRACTION, SPLIT_SEED);
                train = split.train();
                test = split.test();
            }
        } catch (RuntimeException e) {
            return failure(err, "train: " + messages(e));
        }

        long start = System.nanoTime();
        Model<Label> model;
        try {
            model = trainer.train(train);
        } catch (RuntimeException e) {
            return failure(err, "train: training failed: " + messages(e));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        LabelEvaluation evaluation = new LabelEvaluator().evaluate(model, test);

        if (arguments.has("--json")) {
            out.printf(Locale.ROOT, "{\"accuracy\":%.6f, \"macro_f1\":%.6f, \"train_seconds\":%.3f, \"examples\":%d}%n",
                    evaluation.accuracy(), evaluation.macroAveragedF1(), seconds, train.size());
        } else {
            out.printf(Locale.ROOT, "trained on %d examples in %.1f s, evaluated on %d%n", train.size(), seconds,
                    test.size());
            out.println(evaluation);
            out.println(evaluation.getConfusionMatrix());
        }
        if (arguments.has("--save")) {
            Path modelFile = Path.of(arguments.required("--save"));
            try {
                model.serializeToFile(modelFile);
            } catch (IOException | RuntimeException e) {
                return failure(err, "train: cannot save the model to " + modelFile + ": " + messages(e));
            }
            if (!arguments.has("--json")) {
                out.println("model saved to " + modelFile);
            }
        }
        return OK;
    }

    @SuppressWarnings("unchecked")
    private Trainer<Label> trainer(Path file, String name) {
        return (Trainer<Label>) configured(file, name, Trainer.class, "a Tribuo Trainer", registry);
    }

    @Override
    protected String usage() {
        return "usage: xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--trainer NAME]"
                + " [--save MODEL] [--json]";
    }
}
