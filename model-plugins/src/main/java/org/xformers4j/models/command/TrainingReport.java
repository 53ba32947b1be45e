package org.xformers4j.models.command;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import org.xformers4j.models.lm.TextModelTrainer;
import org.xformers4j.train.Point;
import org.xformers4j.train.TrainingListener;
import org.xformers4j.train.TrainingState;

/**
 * What a text-model training command ({@code lm train}, {@code seq2seq train}) prints about its run:
 * a line per point of the learning curve (step, training loss, validation loss and bits per
 * character, tokens per second, time) and a closing summary line; or, with {@code --json}, only
 * {@code {"steps":…, "validation_loss":…, "validation_bpc":…, "train_seconds":…,
 * "curve":[{"step":…, "loss":…, "validation_loss":…, "validation_bpc":…, "seconds":…}, …]}}.
 * The bits per character are those the trainer measured (per target character for a
 * sequence-to-sequence model). A listener of the run: it prints each point as the loop takes it.
 */
final class TrainingReport implements TrainingListener {

    private final PrintStream out;
    private final boolean json;

    /** A report to {@code out}, as the JSON summary alone when {@code json}. */
    TrainingReport(PrintStream out, boolean json) {
        this.out = out;
        this.json = json;
    }

    /** Prints {@code line} (what is trained on, where the model is saved) unless the report is JSON. */
    void say(String line) {
        if (!json) {
            out.println(line);
        }
    }

    /** Prints the line of each point of the learning curve unless the report is JSON. */
    @Override
    public void onPoint(TrainingState state, Point point) {
        say(progressLine(point));
    }

    /** Prints the summary of the learning curve {@code curve}, whose last point is the end of training. */
    void summary(List<Point> curve) {
        Point last = curve.get(curve.size() - 1);
        if (json) {
            out.println(json(curve));
        } else {
            out.printf(Locale.ROOT, "trained %d steps in %.1f s: validation bits per character %.3f%n", last.step(),
                    last.seconds(), last.evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER));
        }
    }

    /** One progress line: step, training loss, validation loss and bits per character, throughput, time. */
    private static String progressLine(Point point) {
        return String.format(Locale.ROOT, "step %6d  loss %.4f  validation loss %.4f  bpc %.3f  %,8.0f tokens/s  %6.1f s",
                point.step(), point.trainLoss(), point.evaluation().loss(), point.evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER),
                point.itemsPerSecond(), point.seconds());
    }

    /** The JSON summary of {@code curve}, on one line. */
    private static String json(List<Point> curve) {
        Point last = curve.get(curve.size() - 1);
        StringBuilder points = new StringBuilder();
        for (Point p : curve) {
            points.append(points.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT,
                    "{\"step\":%d, \"loss\":%.5f, \"validation_loss\":%.5f, \"validation_bpc\":%.4f, \"seconds\":%.1f}",
                    p.step(), p.trainLoss(), p.evaluation().loss(), p.evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER), p.seconds()));
        }
        return String.format(Locale.ROOT, "{\"steps\":%d, \"validation_loss\":%.5f, \"validation_bpc\":%.4f, "
                + "\"train_seconds\":%.1f, \"curve\":[%s]}", last.step(), last.evaluation().loss(),
                last.evaluation().metric(TextModelTrainer.BITS_PER_CHARACTER), last.seconds(), points);
    }
}
