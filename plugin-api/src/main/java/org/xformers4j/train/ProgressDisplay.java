package org.xformers4j.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * Live progress of a run on a text stream (a command's standard error): the step (and, for a task
 * that goes in epochs, the epoch) of the total, the mean training loss of the steps since the last
 * update or point of the curve, the items (tokens, examples) per second of training time, the elapsed time and the time
 * left at the pace so far (evaluations included).
 *
 * <p>On a terminal one line is redrawn in place (a carriage return) at most every
 * {@value #TERMINAL_REFRESH_MILLIS} ms, cut to the terminal's width (a wrapped line could not be
 * redrawn; {@code COLUMNS} when the shell exports it, else 80), and erased when the run ends, so lines printed between
 * updates (a point of the curve on standard output) stand on their own; anywhere else (a log file,
 * a pipe, CI) a plain line is printed every {@value #PLAIN_EVERY_SECONDS} seconds and at the last
 * step. With
 * {@code pointLines}, each point of the learning curve is also printed as a line of its own (the
 * held-out loss and metrics), for a caller that prints none itself, in place of the last step's line.
 */
public final class ProgressDisplay implements TrainingListener {

    /** The least time between two redraws of the line on a terminal. */
    public static final long TERMINAL_REFRESH_MILLIS = 500;
    /** The least time between two plain lines when the stream is not a terminal. */
    public static final long PLAIN_EVERY_SECONDS = 5;

    /** The terminal width assumed when the environment does not give one. */
    private static final int DEFAULT_COLUMNS = 80;

    private final PrintStream out;
    private final boolean terminal;
    private final String items;
    private final boolean pointLines;
    private final LongSupplier nanoTime;

    private long startNanos;
    private long firstStep;
    private long lastShownNanos;
    private long itemsAtLastShown;
    private double secondsAtLastShown;
    private double itemsPerSecond = Double.NaN;
    private double lossSum;
    private long losses;
    private double loss = Double.NaN;
    private int drawnLength;

    /**
     * Progress on {@code out}, redrawn in place when {@code terminal}, else in plain lines, with the
     * throughput in {@code items} per second ("tokens", "examples") and, with {@code pointLines}, a
     * line per point of the curve.
     */
    public ProgressDisplay(PrintStream out, boolean terminal, String items, boolean pointLines) {
        this(out, terminal, items, pointLines, System::nanoTime);
    }

    ProgressDisplay(PrintStream out, boolean terminal, String items, boolean pointLines, LongSupplier nanoTime) {
        this.out = out;
        this.terminal = terminal;
        this.items = items;
        this.pointLines = pointLines;
        this.nanoTime = nanoTime;
    }

    @Override
    public void onStart(TrainingState state) {
        startNanos = nanoTime.getAsLong();
        lastShownNanos = startNanos;
        firstStep = state.step();
    }

    @Override
    public void onLoss(TrainingState state, long step, float value) {
        lossSum += value;
        losses++;
    }

    @Override
    public void onUpdate(TrainingState state) {
        long now = nanoTime.getAsLong();
        long due = terminal ? TERMINAL_REFRESH_MILLIS * 1_000_000 : PLAIN_EVERY_SECONDS * 1_000_000_000;
        // the last step is always shown, unless its point's line says it all
        boolean last = state.step() >= state.totalSteps() && !pointLines;
        if (now - lastShownNanos < due && !last) {
            return;
        }
        measure(state, now);
        if (terminal) {
            String line = status(state, now);
            draw(line.length() < columns() ? line : line.substring(0, columns() - 1));
        } else {
            out.println(status(state, now));
        }
    }

    @Override
    public void onPoint(TrainingState state, Point point) {
        erase();
        lossSum = 0;            // the next line's loss is that of the steps after this point, which the point shows
        losses = 0;
        if (pointLines) {
            out.println(pointLine(state, point));
        }
        out.flush();
    }

    @Override
    public void onEnd(TrainingState state) {
        erase();
        out.flush();
    }

    /** Erases the line drawn on a terminal, if any (a run that failed leaves it otherwise). */
    public void erase() {
        if (drawnLength > 0) {
            out.print("\r" + " ".repeat(drawnLength) + "\r");
            out.flush();
            drawnLength = 0;
        }
    }

    /** Takes the mean loss and the throughput since the last update. */
    private void measure(TrainingState state, long now) {
        if (losses > 0) {
            loss = lossSum / losses;
        }
        double seconds = state.trainingSeconds() - secondsAtLastShown;
        if (seconds > 0) {
            itemsPerSecond = (state.items() - itemsAtLastShown) / seconds;
        }
        lossSum = 0;
        losses = 0;
        itemsAtLastShown = state.items();
        secondsAtLastShown = state.trainingSeconds();
        lastShownNanos = now;
    }

    private void draw(String line) {
        int padding = Math.max(0, drawnLength - line.length());
        out.print("\r" + line + " ".repeat(padding));
        out.flush();
        drawnLength = line.length();
    }

    /** The terminal's width: {@code COLUMNS} when the shell exports it, else {@value #DEFAULT_COLUMNS}. */
    private static int columns() {
        String columns = System.getenv("COLUMNS");
        return columns != null && columns.matches("\\d{2,4}") ? Integer.parseInt(columns) : DEFAULT_COLUMNS;
    }

    /**
     * Where the run stands: {@code step 340/2000 (17%)  loss 2.1345  12,345 tokens/s  0:28, ETA 2:17}, or
     * {@code epoch 2/30  step 90/1350  loss …} for a task in epochs (the step of the total says how far).
     */
    private String status(TrainingState state, long now) {
        double elapsed = (now - startNanos) / 1e9;
        long taken = state.step() - firstStep;
        long left = state.totalSteps() - state.step();
        String eta = taken > 0 ? clock(elapsed / taken * left) : "?";
        String percent = state.stepsPerEpoch() > 0 ? ""
                : " (" + 100 * state.step() / Math.max(1, state.totalSteps()) + "%)";
        return String.format(Locale.ROOT, "%s%s  loss %s  %s %s/s  %s, ETA %s", position(state, state.step()), percent,
                number(loss), Double.isNaN(itemsPerSecond) ? "?" : String.format(Locale.ROOT, "%,.0f", itemsPerSecond),
                items, clock(elapsed), eta);
    }

    /** A point of the curve: its step, the training loss, the held-out loss and metrics, the throughput and time. */
    private String pointLine(TrainingState state, Point point) {
        StringBuilder line = new StringBuilder(position(state, point.step()));
        line.append("  loss ").append(number(point.trainLoss()));
        if (point.evaluation() != null) {
            line.append("  validation loss ").append(number(point.evaluation().loss()));
            new TreeMap<>(point.evaluation().metrics()).forEach((name, value) ->
                    line.append("  ").append(words(name)).append(' ').append(number(value)));
        }
        return line.append(String.format(Locale.ROOT, "  %,.0f %s/s  %s", point.itemsPerSecond(), items,
                clock(point.seconds()))).toString();
    }

    /** {@code step 90/1350}, after {@code epoch 2/30} when the task goes in epochs. */
    private static String position(TrainingState state, long step) {
        String steps = "step " + step + "/" + state.totalSteps();
        long perEpoch = state.stepsPerEpoch();
        if (perEpoch <= 0) {
            return steps;
        }
        long epochs = (state.totalSteps() + perEpoch - 1) / perEpoch;
        return "epoch " + Math.max(1, (step + perEpoch - 1) / perEpoch) + "/" + epochs + "  " + steps;
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "?" : String.format(Locale.ROOT, "%.4f", value);
    }

    /** {@code bitsPerCharacter} as {@code bits per character}. */
    static String words(String camelCase) {
        return camelCase.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour. */
    static String clock(double seconds) {
        long total = Math.round(seconds);
        long hours = total / 3600;
        return hours > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", hours, total / 60 % 60, total % 60)
                : String.format(Locale.ROOT, "%d:%02d", total / 60, total % 60);
    }
}
