package org.xformers4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * A record of each point of the learning curve, handed to a {@link Sink}: for {@link #jsonLines},
 * one JSON object per line of a file, appended and flushed as the run goes, so the run can be
 * plotted while it trains and compared with others afterwards:
 *
 * <pre>{"step":200,"epoch":2,"loss":1.83,"validation_loss":1.91,"validation_bits_per_character":2.75,
 * "items_per_second":12345.6,"learning_rate":0.0019,"train_seconds":21.4,"elapsed_seconds":24.9}</pre>
 *
 * <p>{@value #STEP} (the optimiser steps taken) and {@value #LOSS} (the mean training loss since the
 * previous point) are always there; {@value #EPOCH} for a task that goes in epochs; the held-out
 * {@value #VALIDATION_LOSS} and each held-out metric as {@code validation_} and its name in snake
 * case, when the task has held-out data; {@value #ITEMS_PER_SECOND} (tokens, examples) and
 * {@value #TRAIN_SECONDS} of training time (evaluations excluded), {@value #LEARNING_RATE} of the
 * last step and {@value #ELAPSED_SECONDS} of wall time since the run started. A value that is not
 * finite is written as {@code null}.
 */
public final class MetricsLog implements TrainingListener {

    /** The optimiser steps taken. */
    public static final String STEP = "step";
    /** The epoch of the step, for a task that goes in epochs. */
    public static final String EPOCH = "epoch";
    /** The mean training loss since the previous point. */
    public static final String LOSS = "loss";
    /** The held-out loss. */
    public static final String VALIDATION_LOSS = "validation_loss";
    /** The prefix of the held-out metrics' keys. */
    public static final String VALIDATION_PREFIX = "validation_";
    /** Training items per second of training time since the previous point. */
    public static final String ITEMS_PER_SECOND = "items_per_second";
    /** The learning rate of the last step. */
    public static final String LEARNING_RATE = "learning_rate";
    /** Training time of the run so far. */
    public static final String TRAIN_SECONDS = "train_seconds";
    /** Wall time since the run started. */
    public static final String ELAPSED_SECONDS = "elapsed_seconds";

    /** Where the records of a run go. */
    public interface Sink {
        /** Once, before the first record; {@code resumed} when the run continues one from a checkpoint. */
        default void start(boolean resumed) throws IOException {
        }

        /** One point's record, keys in the order of {@link MetricsLog}'s description. */
        void accept(Map<String, Double> record) throws IOException;
    }

    private final Sink sink;
    private final String what;
    private final LongSupplier nanoTime;
    private long startNanos;

    /** Hands each point's record to {@code sink}; {@code what} names it in errors. */
    public MetricsLog(Sink sink, String what) {
        this(sink, what, System::nanoTime);
    }

    MetricsLog(Sink sink, String what, LongSupplier nanoTime) {
        this.sink = sink;
        this.what = what;
        this.nanoTime = nanoTime;
    }

    /**
     * Writes each record as one JSON line to {@code file}, flushed when the point is taken; a new
     * run replaces the file, a resumed run appends to it.
     */
    public static MetricsLog jsonLines(Path file) {
        return new MetricsLog(new Sink() {
            @Override
            public void start(boolean resumed) throws IOException {
                if (!resumed) {
                    Files.write(file, new byte[0]);
                }
            }

            @Override
            public void accept(Map<String, Double> record) throws IOException {
                Files.write(file, (json(record) + "\n").getBytes(StandardCharsets.UTF_8),
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            }
        }, "metrics file " + file);
    }

    @Override
    public void onStart(TrainingState state) {
        startNanos = nanoTime.getAsLong();
        try {
            sink.start(state.step() > 0);
        } catch (IOException e) {
            throw new UncheckedIOException(what + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void onPoint(TrainingState state, Point point) {
        try {
            sink.accept(record(state, point, (nanoTime.getAsLong() - startNanos) / 1e9));
        } catch (IOException e) {
            throw new UncheckedIOException(what + ": " + e.getMessage(), e);
        }
    }

    /** The record of {@code point}, {@code elapsed} seconds after the run started. */
    static Map<String, Double> record(TrainingState state, Point point, double elapsed) {
        Map<String, Double> record = new LinkedHashMap<>();
        record.put(STEP, (double) point.step());
        if (state.stepsPerEpoch() > 0) {
            record.put(EPOCH, (double) ((point.step() + state.stepsPerEpoch() - 1) / state.stepsPerEpoch()));
        }
        record.put(LOSS, point.trainLoss());
        if (point.evaluation() != null) {
            record.put(VALIDATION_LOSS, point.evaluation().loss());
            new TreeMap<>(point.evaluation().metrics()).forEach((name, value) ->
                    record.put(VALIDATION_PREFIX + snakeCase(name), value));
        }
        record.put(ITEMS_PER_SECOND, point.itemsPerSecond());
        record.put(LEARNING_RATE, point.learningRate());
        record.put(TRAIN_SECONDS, point.seconds());
        record.put(ELAPSED_SECONDS, elapsed);
        return record;
    }

    /**
     * {@code record} as one JSON object: whole numbers without a fraction, others to 7 significant
     * digits (a float's precision; the learning rate 2.0E-4, not 2.0000000949949026E-4), non-finite
     * values as null.
     */
    public static String json(Map<String, Double> record) {
        StringBuilder out = new StringBuilder("{");
        record.forEach((key, value) -> {
            out.append(out.length() > 1 ? "," : "").append('"').append(key).append("\":");
            if (value == null || !Double.isFinite(value)) {
                out.append("null");
            } else if (value == Math.rint(value) && Math.abs(value) < 1e15) {
                out.append((long) value.doubleValue());
            } else {
                out.append(Double.parseDouble(String.format(Locale.ROOT, "%.7g", value)));
            }
        });
        return out.append('}').toString();
    }

    /** {@code bitsPerCharacter} as {@code bits_per_character}. */
    static String snakeCase(String name) {
        return name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").replaceAll("[^A-Za-z0-9]+", "_").toLowerCase(Locale.ROOT);
    }
}
