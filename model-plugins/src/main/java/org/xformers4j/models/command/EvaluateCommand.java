package org.xformers4j.models.command;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.evaluation.ConfusionMatrix;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * {@code xformers4j evaluate --model MODEL --input CSV [--label COLUMN] [--text COLUMN] [--id COLUMN]
 * [--separator CHAR] [--format csv|text] [--json]}: evaluates a classifier saved by {@code train --save} on labelled
 * data with Tribuo's {@link LabelEvaluator} and prints its {@link LabelEvaluation} (accuracy,
 * per-class precision, recall and F1, averages) and confusion matrix, or with {@code --json} one
 * object: {@code {"examples":…, "accuracy":…, "macro_f1":…, "balanced_error_rate":…,
 * "classes":[{"label":…, "precision":…, "recall":…, "f1":…, "support":…}, …],
 * "confusion":{"labels":[…], "rows":[[…], …]}}} (classes in the order of their names; the
 * confusion matrix's rows are the true labels, its columns the predicted ones, in that order).
 *
 * <p>The file is read as {@link PredictCommand} reads its input ({@link SavedClassifier#columns}:
 * the model's numeric columns and text column), and labelled as {@link LabelCsv} checks training
 * data; every label must be one the model predicts. With {@code --format text} it reads Tribuo's
 * {@code LABEL##text} lines ({@link TextLines}) for a model trained on text alone.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=evaluate",
        HostCommand.SUMMARY_PROPERTY + "=Evaluates a saved classifier on labelled CSV data: accuracy, per-class "
                + "precision, recall, F1 and the confusion matrix"})
public final class EvaluateCommand extends Command {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--model", "--input", "--label", "--text", "--id", "--separator", "--format").flags("--json");

    private final ComponentRegistry registry;

    @Activate
    public EvaluateCommand(@Reference(name = "registry") ComponentRegistry registry) {
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
            return usageError(err, "evaluate: " + e.getMessage());
        }
        LabelEvaluation evaluation;
        MutableDataset<Label> data;
        try {
            Model<Label> model = SavedClassifier.load(modelFile, registry);
            LabelCsv.Columns given = LabelCsv.Columns.of(line).inFormat(line.value("--format", "csv"));
            LabelCsv.Columns columns = given;
            if (given.textLines()) {
                SavedClassifier.checkReadsOnlyText(model, input);
            } else {
                try (CsvTable table = given.open(input)) {
                    LabelCsv.checkLabel(table, given);
                    columns = SavedClassifier.columns(model, table, given, "evaluate", err);
                }
            }
            data = LabelCsv.test(input, columns, model.getOutputIDInfo().getDomain());
            evaluation = new LabelEvaluator().evaluate(model, data);
        } catch (RuntimeException e) {
            return failure(err, "evaluate: " + messages(e));
        }
        if (line.flag("--json")) {
            out.println(json(evaluation, data.size()));
        } else {
            out.println("evaluated on " + data.size() + " examples of " + input);
            out.println(evaluation);
            out.println(evaluation.getConfusionMatrix());
        }
        return OK;
    }

    /** The evaluation as the one JSON object the class comment describes. */
    static String json(LabelEvaluation evaluation, int examples) {
        ConfusionMatrix<Label> confusion = evaluation.getConfusionMatrix();
        List<Label> labels = confusion.getDomain().getDomain().stream()
                .sorted(Comparator.comparing(Label::getLabel)).toList();
        StringWriter text = new StringWriter();
        try (JsonGenerator json = new JsonFactory().createGenerator(text)) {
            json.writeStartObject();
            json.writeNumberField("examples", examples);
            json.writeNumberField("accuracy", evaluation.accuracy());
            json.writeNumberField("macro_f1", evaluation.macroAveragedF1());
            json.writeNumberField("balanced_error_rate", evaluation.balancedErrorRate());
            json.writeArrayFieldStart("classes");
            for (Label label : labels) {
                json.writeStartObject();
                json.writeStringField("label", label.getLabel());
                json.writeNumberField("precision", evaluation.precision(label));
                json.writeNumberField("recall", evaluation.recall(label));
                json.writeNumberField("f1", evaluation.f1(label));
                json.writeNumberField("support", (long) confusion.support(label));
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeObjectFieldStart("confusion");
            json.writeArrayFieldStart("labels");
            for (Label label : labels) {
                json.writeString(label.getLabel());
            }
            json.writeEndArray();
            json.writeArrayFieldStart("rows");
            for (Label truth : labels) {
                json.writeStartArray();
                for (Label predicted : labels) {
                    json.writeNumber((long) confusion.confusion(predicted, truth));
                }
                json.writeEndArray();
            }
            json.writeEndArray();
            json.writeEndObject();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory failed", e);
        }
        return text.toString();
    }

    @Override
    protected String usage() {
        return "usage: xformers4j evaluate --model MODEL --input CSV [--label COLUMN] [--text COLUMN] [--id COLUMN]"
                + " [--separator CHAR] [--format csv|text] [--json]";
    }
}
