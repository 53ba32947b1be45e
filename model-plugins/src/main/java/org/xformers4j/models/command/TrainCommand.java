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
import org.xformers4j.models.tribuo.TransformerTrainer;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--trainer NAME]
 * [--save MODEL] [--json]}: builds the trainer named {@code NAME} (default {@code trainer}) from the
 * OLCUT configuration file, trains it on the labelled CSV file, evaluates the model with Tribuo's
 * {@link LabelEvaluator} on the test file (or, without {@code --test}, on a stratified 20% of the
 * training file held out with seed 1) and prints the evaluation and the confusion matrix; with
 * {@code --json}, only {@code {"accuracy":…, "macro_f1":…, "train_seconds":…, "examples":…}}
 * (examples: the number of training examples). {@code --save} writes the model in Tribuo's format
 * through {@link TribuoModelFiles#save} (atomically: an existing model is replaced whole or not at all),
 * loadable by {@link PredictCommand} and by Tribuo's {@link Model#deserializeFromFile(Path)}.
 *
 * <p>Progress goes to standard error (a line per epoch); with a {@code TransformerTrainer},
 * {@code --metrics FILE} and {@code --plot FILE.png} write the run's metrics and curves
 * ({@link TrainingOutputs}); other Tribuo trainers, which do not run the training loop, refuse them.
 *
 * <p>Whatever could fail after training is checked before it: the configuration, the directory
 * of {@code --save} (it must exist and be writable), the training data and the test data (read
 * and checked as {@link LabelCsv} describes; every test label must occur in the training data).
 * The model is saved before it is evaluated.
 *
 * <p>The components the configuration names (attention mechanisms, positional encodings) are found
 * through the host's {@link ComponentRegistry}, which the command hands the trainer right after
 * configuring it ({@link org.xformers4j.registry.RegistryAware}); an unknown name fails then, before
 * the data are read, naming the closest registered ones.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=train",
        HostCommand.SUMMARY_PROPERTY + "=Trains and evaluates a classifier configured in an OLCUT XML file on CSV data"})
public final class TrainCommand extends Command {

    /** Seed and training fraction of the split used when no test file is given. */
    private static final CommandLine.Syntax SYNTAX = TrainingOutputs.options(CommandLine.syntax()
            .values("--config", "--train", "--test", "--label", "--save", "--trainer").flags("--json"));

    static final long SPLIT_SEED = 1;
    static final double TRAIN_FRACTION = 0.8;

    private final ComponentRegistry registry;

    @Activate
    public TrainCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path config;
        Path trainFile;
        Path testFile;
        Path modelFile;
        try {
            line = SYNTAX.parse(args);
            config = line.path("--config");
            trainFile = line.path("--train");
            testFile = line.path("--test", null);
            modelFile = line.path("--save", null);
        } catch (UsageException e) {
            return usageError(err, "train: " + e.getMessage());
        }
        String label = line.value("--label", "label");
        Trainer<Label> trainer;
        MutableDataset<Label> train;
        MutableDataset<Label> test;
        TrainingOutputs outputs;
        try {
            outputs = TrainingOutputs.open(line, err, "examples", true, trainFile.getFileName().toString());
            // Everything that can fail after training is checked first, so no trained model is thrown away.
            trainer = trainer(config, line.value("--trainer", "trainer"));
            if (outputs.writesFiles() && !(trainer instanceof TransformerTrainer)) {
                throw new IllegalArgumentException("--metrics and --plot need a TransformerTrainer, which runs the "
                        + "training loop; the trainer is a " + trainer.getClass().getName());
            }
            if (modelFile != null) {
                TribuoModelFiles.checkWritable(modelFile);
            }
            train = LabelCsv.training(trainFile, label);
            if (testFile != null) {
                test = LabelCsv.test(testFile, label, train.getOutputInfo().getDomain());
            } else {
                LabelCsv.Split split = LabelCsv.stratifiedSplit(train, TRAIN_FRACTION, SPLIT_SEED);
                train = split.train();
                test = split.test();
            }
        } catch (UsageException e) {
            return usageError(err, "train: " + e.getMessage());
        } catch (RuntimeException e) {
            return failure(err, "train: " + messages(e));
        }

        long start = System.nanoTime();
        Model<Label> model;
        try (TrainingOutputs.Watch watch = outputs.watch()) {
            model = trainer instanceof TransformerTrainer<Label> transformer
                    ? transformer.train(train, Map.of(), outputs.listeners()) : trainer.train(train);
        } catch (RuntimeException e) {
            return failure(err, "train: training failed: " + messages(e));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (modelFile != null) {
            try {
                TribuoModelFiles.save(model, modelFile);
            } catch (RuntimeException e) {
                return failure(err, "train: " + messages(e));
            }
        }
        LabelEvaluation evaluation = new LabelEvaluator().evaluate(model, test);

        if (line.flag("--json")) {
            out.printf(Locale.ROOT, "{\"accuracy\":%.6f, \"macro_f1\":%.6f, \"train_seconds\":%.3f, \"examples\":%d}%n",
                    evaluation.accuracy(), evaluation.macroAveragedF1(), seconds, train.size());
        } else {
            out.printf(Locale.ROOT, "trained on %d examples in %.1f s, evaluated on %d%n", train.size(), seconds,
                    test.size());
            out.println(evaluation);
            out.println(evaluation.getConfusionMatrix());
            if (modelFile != null) {
                out.println("model saved to " + modelFile);
            }
        }
        return plotIfAsked("train", outputs, "train: " + trainFile.getFileName(),
                line.flag("--json") ? written -> { } : out::println, err);
    }

    @SuppressWarnings("unchecked")
    private Trainer<Label> trainer(Path file, String name) {
        return (Trainer<Label>) configured(file, name, Trainer.class, "a Tribuo Trainer", registry);
    }

    @Override
    protected String usage() {
        return "usage: xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--trainer NAME]"
                + " [--save MODEL] [--json] " + TrainingOutputs.USAGE;
    }
}
