package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.xformers4j.models.tribuo.TransformerTrainer;
import org.xformers4j.models.tribuo.TribuoModelFiles;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--text COLUMN]
 * [--categorical COLUMN[,COLUMN…]]… [--id COLUMN] [--separator CHAR] [--format csv|text] [--trainer NAME] [--save MODEL] [--baseline]
 * [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json]}: builds the trainer named {@code NAME}
 * (default {@code trainer}) from the OLCUT configuration file with the {@code --set} overrides
 * ({@link Command#configured}; {@code --dry-run} prints the effective configuration instead of
 * training; the model's provenance records it), trains it on the labelled CSV or TSV file (read as
 * {@link LabelCsv} describes: numeric columns, categorical columns {@code --categorical}, and the
 * text column {@code --text}, or the one the ordered-text encoder's configuration declares, for that
 * encoder; the column {@code --id} is no feature; the model's run provenance records these roles) or, with {@code --format text}, a file
 * of Tribuo's {@code LABEL##text} lines ({@link TextLines}), evaluates the model with Tribuo's
 * {@link LabelEvaluator} on the test file (or, without {@code --test}, on a stratified 20% of the
 * training file held out with seed 1) and prints the evaluation and the confusion matrix; with
 * {@code --json}, only {@code {"accuracy":…, "macro_f1":…, "train_seconds":…, "examples":…}}
 * (examples: the number of training examples). {@code --baseline} also trains Tribuo's
 * {@link LogisticRegressionTrainer} on the same training examples (their features: the numbers and
 * the text's bag of words) and prints its evaluation on the same test examples, in the JSON as
 * {@code baseline_accuracy} and {@code baseline_macro_f1}. {@code --save} writes the model in
 * Tribuo's format through {@link TribuoModelFiles#save} (atomically: an existing model is replaced whole or not at all),
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
            .values("--config", "--train", "--test", "--label", "--save", "--trainer")
            .values("--text", "--id", "--separator", "--format").flags("--json", "--baseline", "--dry-run")
            .repeatable("--set", "--categorical"));

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
        Map<String, String> overrides;
        try {
            line = SYNTAX.parse(args);
            overrides = line.pairs("--set");
            config = line.path("--config");
            trainFile = line.path("--train");
            testFile = line.path("--test", null);
            modelFile = line.path("--save", null);
        } catch (UsageException e) {
            return usageError(err, "train: " + e.getMessage());
        }
        Configured<Trainer<Label>> trainer;
        MutableDataset<Label> train;
        MutableDataset<Label> test;
        TrainingOutputs outputs;
        LabelCsv.Columns columns;
        try {
            outputs = TrainingOutputs.open(line, err, "examples", true, trainFile.getFileName().toString());
            // Everything that can fail after training is checked first, so no trained model is thrown away.
            trainer = trainer(config, line.value("--trainer", "trainer"), overrides);
            if (line.flag("--dry-run")) {
                out.print(trainer.effective());
                return OK;
            }
            if (outputs.writesFiles() && !(trainer.component() instanceof TransformerTrainer)) {
                throw new IllegalArgumentException("--metrics and --plot need a TransformerTrainer, which runs the "
                        + "training loop; the trainer is a " + trainer.component().getClass().getName());
            }
            if (modelFile != null) {
                TribuoModelFiles.checkWritable(modelFile);
            }
            columns = LabelCsv.Columns.training(line, LabelCsv.declaredText(trainer.component())).resolved(trainFile);
            train = LabelCsv.training(trainFile, columns);
            if (testFile != null) {
                test = LabelCsv.test(testFile, columns, train.getOutputInfo().getDomain());
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
            Map<String, Provenance> run = new HashMap<>(trainer.runProvenance());
            run.putAll(columns.provenance());        // the columns' roles, read back by predict and evaluate
            model = trainer.component() instanceof TransformerTrainer<Label> transformer
                    ? transformer.train(train, run, outputs.listeners())
                    : trainer.component().train(train, run);
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
        LabelEvaluation baseline;
        try {
            baseline = line.flag("--baseline")
                    ? new LabelEvaluator().evaluate(new LogisticRegressionTrainer().train(train), test) : null;
        } catch (RuntimeException e) {
            return failure(err, "train: the baseline (Tribuo's logistic regression) failed: " + messages(e));
        }

        if (line.flag("--json")) {
            String baselineFields = baseline == null ? "" : String.format(Locale.ROOT,
                    ", \"baseline_accuracy\":%.6f, \"baseline_macro_f1\":%.6f", baseline.accuracy(),
                    baseline.macroAveragedF1());
            out.printf(Locale.ROOT, "{\"accuracy\":%.6f, \"macro_f1\":%.6f, \"train_seconds\":%.3f, \"examples\":%d%s}%n",
                    evaluation.accuracy(), evaluation.macroAveragedF1(), seconds, train.size(), baselineFields);
        } else {
            out.printf(Locale.ROOT, "trained on %d examples in %.1f s, evaluated on %d%n", train.size(), seconds,
                    test.size());
            out.println(evaluation);
            out.println(evaluation.getConfusionMatrix());
            if (baseline != null) {
                out.printf(Locale.ROOT, "baseline (Tribuo LogisticRegressionTrainer on the same %d features, same split): "
                        + "accuracy %.4f, macro F1 %.4f%n", train.getFeatureMap().size(), baseline.accuracy(),
                        baseline.macroAveragedF1());
            }
            if (modelFile != null) {
                out.println("model saved to " + modelFile);
            }
        }
        return plotIfAsked("train", outputs, "train: " + trainFile.getFileName(),
                line.flag("--json") ? written -> { } : out::println, err);
    }

    @SuppressWarnings("unchecked")
    private Configured<Trainer<Label>> trainer(Path file, String name, Map<String, String> overrides) {
        return (Configured<Trainer<Label>>) (Configured<?>) configured(file, name, overrides, Trainer.class,
                "a Tribuo Trainer", registry);
    }

    @Override
    protected String usage() {
        return "usage: xformers4j train --config FILE --train CSV [--test CSV] [--label COLUMN] [--text COLUMN]"
                + " [--categorical COLUMN[,COLUMN…]]… [--id COLUMN] [--separator CHAR] [--format csv|text] [--trainer NAME] [--save MODEL] [--baseline]"
                + " [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json] " + TrainingOutputs.USAGE;
    }
}
