package org.xformers4j.models.command;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.xformers4j.io.AtomicFiles;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code xformers4j predict --model MODEL --input CSV [--label COLUMN] [--text COLUMN] [--id COLUMN]
 * [--separator CHAR] [--format csv|text] [--all-probabilities] [--output FILE]}: loads a classifier saved by
 * {@code train --save} ({@link SavedClassifier#load}) and prints one CSV line per row of the CSV or
 * TSV file, after a header: {@code row,label,probability} (the row's id: the cell of the column
 * {@code --id}, whose name heads the column, or its number from 1 after the header line; the
 * predicted label and its score, a probability when the model produces them), and with
 * {@code --all-probabilities} one more column per class of the model, {@code p(CLASS)}, in the
 * order of the class names. Cells holding a comma, a quote or a line break are quoted as RFC 4180
 * says. With {@code --output FILE} the lines go to {@code FILE} instead, written atomically (the
 * whole file or, on any error, no change) and the command prints where it wrote them.
 *
 * <p>The columns are read as {@link SavedClassifier#columns} and {@link LabelCsv} say: the
 * model's numeric columns and its text column (found from the model's features, or named by
 * {@code --text}); {@code COLUMN} of {@code --label} (default {@code label}) is ignored when
 * present; missing columns are named and nothing is predicted; columns the model does not know
 * are ignored with a warning. With {@code --format text} the input is Tribuo's {@code LABEL##text}
 * lines ({@link TextLines}; their labels are ignored), for a model of text alone, and each line is named by its
 * number in the file, in the column {@code line}. A CSV input is read once, streaming, and predicted {@value #BATCH} rows
 * at a time, so a bad row stops the command with exit code 1 after the lines of the batches before
 * it (on standard output; a file of {@code --output} is then not written).
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=predict",
        HostCommand.SUMMARY_PROPERTY + "=Predicts the label of each row of a CSV file with a saved classifier"})
public final class PredictCommand extends Command {

    /** Rows predicted per batch: the input is read and predicted streaming, a batch at a time. */
    static final int BATCH = 1024;

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().values("--model", "--input", "--label",
            "--text", "--id", "--separator", "--format", "--output").flags("--all-probabilities");

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
        Path output;
        try {
            line = SYNTAX.parse(args);
            modelFile = line.path("--model");
            input = line.path("--input");
            output = line.path("--output", null);
        } catch (UsageException e) {
            return usageError(err, "predict: " + e.getMessage());
        }
        Model<Label> model;
        try {
            model = SavedClassifier.load(modelFile, registry);
        } catch (RuntimeException e) {
            return failure(err, "predict: " + messages(e));
        }
        List<Label> classes = line.flag("--all-probabilities")
                ? model.getOutputIDInfo().getDomain().stream().sorted(Comparator.comparing(Label::getLabel)).toList()
                : List.of();
        try {
            LabelCsv.Columns given = LabelCsv.Columns.of(line).inFormat(line.value("--format", "csv"));
            if (given.textLines()) {
                SavedClassifier.checkReadsOnlyText(model, input);
                MutableDataset<Label> lines = TextLines.read(input);
                write(output, out, file -> predictLines(model, lines, classes, file));
            } else {
                try (CsvTable table = given.open(input)) {
                    LabelCsv.Columns columns = SavedClassifier.columns(model, table, given, "predict", err);
                    write(output, out, file -> predict(model, table, columns, classes, file));
                }
            }
        } catch (IOException e) {
            return failure(err, "predict: cannot write " + output + ": " + e.getMessage());
        } catch (RuntimeException e) {
            return failure(err, "predict: " + messages(e));
        }
        return OK;
    }

    /**
     * Hands {@code print} the standard output {@code out}, or with {@code output} (not null) a
     * stream whose text replaces the file {@code output} atomically when {@code print} returns, and
     * then says where the lines went.
     */
    private static void write(Path output, PrintStream out, Consumer<PrintStream> print) throws IOException {
        if (output == null) {
            print.accept(out);
            return;
        }
        AtomicFiles.write(output, stream -> {
            PrintStream file = new PrintStream(stream, false, StandardCharsets.UTF_8);
            print.accept(file);
            file.flush();
        });
        out.println("predictions written to " + output);
    }

    /** Prints the header, its first column {@code id}, then each class's column. */
    private static void header(String id, List<Label> classes, PrintStream out) {
        StringBuilder header = new StringBuilder(csv(id)).append(",label,probability");
        classes.forEach(c -> header.append(',').append(csv("p(" + c.getLabel() + ")")));
        out.println(header);
    }

    /** Prints the header and one line per example of Tribuo's text format, named by its line number. */
    private static void predictLines(Model<Label> model, MutableDataset<Label> lines, List<Label> classes,
                                     PrintStream out) {
        header(TextLines.LINE, classes, out);
        List<Example<Label>> examples = lines.getData();
        for (int start = 0; start < examples.size(); start += BATCH) {
            List<Example<Label>> batch = examples.subList(start, Math.min(examples.size(), start + BATCH));
            print(batch.stream().map(TextLines::line).toList(), model.predict(batch), classes, out);
        }
    }

    /** Prints the header and one line per row of {@code table}, predicted a batch at a time. */
    private static void predict(Model<Label> model, CsvTable table, LabelCsv.Columns columns, List<Label> classes,
                                PrintStream out) {
        header(columns.id() == null ? "row" : columns.id(), classes, out);
        List<String> ids = new ArrayList<>(BATCH);
        List<Example<Label>> batch = new ArrayList<>(BATCH);
        LabelCsv.forEach(table, columns, false, (id, example) -> {
            ids.add(id);
            batch.add(example);
            if (batch.size() == BATCH) {
                print(ids, model.predict(batch), classes, out);
                ids.clear();
                batch.clear();
            }
        });
        print(ids, model.predict(batch), classes, out);
    }

    /** Prints one line per prediction: the row's id, the label and its score, and each of {@code classes}' scores. */
    private static void print(List<String> ids, List<Prediction<Label>> predictions, List<Label> classes,
                              PrintStream out) {
        for (int i = 0; i < predictions.size(); i++) {
            Prediction<Label> prediction = predictions.get(i);
            Label predicted = prediction.getOutput();
            StringBuilder row = new StringBuilder(csv(ids.get(i))).append(',').append(csv(predicted.getLabel()))
                    .append(String.format(Locale.ROOT, ",%.6f", predicted.getScore()));
            Map<String, Label> scores = prediction.getOutputScores();
            for (Label c : classes) {
                Label score = scores.get(c.getLabel());
                row.append(String.format(Locale.ROOT, ",%.6f", score == null ? 0.0 : score.getScore()));
            }
            out.println(row);
        }
    }

    /** {@code cell} as a CSV cell: quoted, its quotes doubled, when it holds a comma, a quote or a line break. */
    static String csv(String cell) {
        return cell.matches("(?s).*[,\"\r\n].*") ? '"' + cell.replace("\"", "\"\"") + '"' : cell;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j predict --model MODEL --input CSV [--label COLUMN] [--text COLUMN] [--id COLUMN]"
                + " [--separator CHAR] [--format csv|text] [--all-probabilities] [--output FILE]";
    }
}
