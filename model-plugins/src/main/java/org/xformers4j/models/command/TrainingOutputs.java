package org.xformers4j.models.command;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xformers4j.models.plot.CurveChart;
import org.xformers4j.models.plot.Curves;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.UsageException;
import org.xformers4j.train.MetricsLog;
import org.xformers4j.train.ProgressDisplay;
import org.xformers4j.train.TrainingListener;

/**
 * What a training command ({@code train}, {@code lm train}, {@code seq2seq train}) shows and writes
 * while its run goes, from its options {@value #METRICS} and {@value #PLOT}: the live progress on
 * standard error ({@link ProgressDisplay}: redrawn in place on a terminal, plain lines otherwise),
 * the metrics file ({@link MetricsLog#jsonLines}), and the chart of the curves ({@link CurveChart}),
 * written once training has ended and the model is saved. While the command {@link #watch}es the
 * run, the console shows {@code java.util.logging} records in one line ({@link ConsoleLogging}).
 */
final class TrainingOutputs {

    /** The option naming the metrics file. */
    static final String METRICS = "--metrics";
    /** The option naming the PNG of the curves. */
    static final String PLOT = "--plot";
    /** What the options look like in a usage line. */
    static final String USAGE = "[--metrics FILE.jsonl] [--plot FILE.png]";

    private final Path metrics;
    private final Path plot;
    private final ProgressDisplay progress;
    private final Curves.Builder curves;
    /** Why the curves could not all be recorded (more points than a chart takes), or null. */
    private String unrecorded;

    private TrainingOutputs(Path metrics, Path plot, ProgressDisplay progress, String runName) {
        this.metrics = metrics;
        this.plot = plot;
        this.progress = progress;
        this.curves = new Curves.Builder(runName);
    }

    /** While a run trains: one-line console logging; closing it erases the progress line and restores the logging. */
    final class Watch implements AutoCloseable {
        private final ConsoleLogging logging = ConsoleLogging.oneLine();

        private Watch() {
        }

        @Override
        public void close() {
            progress.erase();
            logging.close();
        }
    }

    /** {@code syntax} with this class's options. */
    static CommandLine.Syntax options(CommandLine.Syntax syntax) {
        return syntax.values(METRICS, PLOT);
    }

    /**
     * The outputs {@code line} asks for (nothing is changed or written yet), progress going to
     * {@code err} counted in {@code items} per second ("tokens", "examples"), with a line per point of
     * the curve when {@code pointLines}; the run is called {@code runName} in the chart. The files'
     * directories are checked now, before training.
     *
     * @throws UsageException           for a {@value #PLOT} file that is not a {@code .png}, or both
     *                                  options naming one file
     * @throws IllegalArgumentException for a file whose directory does not exist or cannot be written
     */
    static TrainingOutputs open(CommandLine line, PrintStream err, String items, boolean pointLines, String runName) {
        Path metrics = line.path(METRICS, null);
        Path plot = line.path(PLOT, null);
        if (plot != null && !plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw new UsageException(PLOT + " must name a .png file, got '" + plot + "'");
        }
        if (metrics != null && plot != null && metrics.toAbsolutePath().normalize().equals(plot.toAbsolutePath().normalize())) {
            throw new UsageException(METRICS + " and " + PLOT + " name the same file '" + plot + "'");
        }
        checkWritable(METRICS, metrics);
        checkWritable(PLOT, plot);
        return new TrainingOutputs(metrics, plot, new ProgressDisplay(err, isTerminal(err), items, pointLines), runName);
    }

    /** Whether the user asked for files that only a trainer running the training loop can produce. */
    boolean writesFiles() {
        return metrics != null || plot != null;
    }

    /**
     * The listeners of the run: the progress first (it erases its line before others print), then
     * {@code reporting} (the command's own lines), the metrics file and the recorder of the chart's points.
     */
    List<TrainingListener> listeners(TrainingListener... reporting) {
        List<TrainingListener> listeners = new ArrayList<>();
        listeners.add(progress);
        listeners.addAll(List.of(reporting));
        if (metrics != null) {
            listeners.add(MetricsLog.jsonLines(metrics));
        }
        if (plot != null) {
            listeners.add(new MetricsLog(this::record, "the curves of " + PLOT));
        }
        return listeners;
    }

    /** Records a point for the chart; a point beyond what a chart takes is noted, never failing the run. */
    private void record(Map<String, Double> record) {
        if (unrecorded == null) {
            try {
                curves.add(record);
            } catch (IllegalArgumentException e) {
                unrecorded = e.getMessage();
            }
        }
    }

    /**
     * Writes the chart of the run's curves to the {@value #PLOT} file, if one was asked for, under
     * {@code title}; returns what to tell the user, or null when there was nothing to write.
     *
     * @throws IOException           if the file cannot be written
     * @throws IllegalStateException if the run had more points than a chart takes
     */
    String writePlot(String title) throws IOException {
        if (plot == null) {
            return null;
        }
        if (unrecorded != null) {
            throw new IllegalStateException("cannot plot the curves: " + unrecorded + "; write them with " + METRICS
                    + " and plot a part of them");
        }
        CurveChart.write(plot, title, List.of(curves.build()), false);
        return "curves plotted to " + plot;
    }

    /** Starts watching a run; close the watch when training has ended or failed. */
    Watch watch() {
        return new Watch();
    }

    /** Checks that {@code file}, when given, can be created or replaced: its directory exists and is writable. */
    private static void checkWritable(String option, Path file) {
        if (file == null) {
            return;
        }
        Path absolute = file.toAbsolutePath();
        Path directory = absolute.getParent();
        if (Files.isDirectory(absolute)) {
            throw new IllegalArgumentException(option + " " + file + ": a directory is in the way");
        }
        if (!Files.isDirectory(directory) || !Files.isWritable(directory)) {
            throw new IllegalArgumentException(option + " " + file + ": cannot be written (" + directory
                    + (Files.isDirectory(directory) ? " is not writable)" : " is not a directory)"));
        }
    }

    /**
     * Whether {@code err} is the process's standard error on a terminal: Java tells only whether the
     * process has a console (standard input and output on a terminal), which stands in for it; from
     * Java 22, where a console may exist without a terminal, {@code Console.isTerminal()} says.
     */
    static boolean isTerminal(PrintStream err) {
        Console console = System.console();
        if (err != System.err || console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }
}
