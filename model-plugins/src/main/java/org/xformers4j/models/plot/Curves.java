package org.xformers4j.models.plot;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.xformers4j.train.MetricsLog;

/**
 * The learning curves of one run: for each point, its {@value MetricsLog#STEP} and the values of
 * every series ({@link MetricsLog}'s keys), held column by column. A series a point lacks reads as
 * NaN there. Bounded: at most {@value #MAX_POINTS} points and {@value #MAX_SERIES} series.
 */
public final class Curves {

    /** The most points one run may have. */
    public static final int MAX_POINTS = 100_000;
    /** The most series (keys other than the step) one run may have. */
    public static final int MAX_SERIES = 32;

    private final String name;
    private final double[] steps;
    private final Map<String, double[]> series;

    private Curves(String name, double[] steps, Map<String, double[]> series) {
        this.name = name;
        this.steps = steps;
        this.series = series;
    }

    /** The run's name, as a chart's legend shows it. */
    public String name() {
        return name;
    }

    /** The number of points. */
    public int size() {
        return steps.length;
    }

    /** The series' keys, in the order they first appeared. */
    public Set<String> series() {
        return series.keySet();
    }

    /** The step of each point. */
    public double[] steps() {
        return steps.clone();
    }

    /** The values of series {@code key} at each point (NaN where a point lacks it, or all NaN for an unknown key). */
    public double[] values(String key) {
        double[] values = series.get(key);
        if (values == null) {
            double[] none = new double[steps.length];
            Arrays.fill(none, Double.NaN);
            return none;
        }
        return values.clone();
    }

    /**
     * Collects the points of a run in the order they were recorded. A point whose step is not after
     * the previous one starts the curve again from there: the points from its step on are dropped,
     * as a run resumed from an earlier checkpoint recomputes them (its records are appended to the
     * same file).
     */
    public static final class Builder {
        private final String name;
        private final Column steps = new Column();
        private final Map<String, Column> series = new LinkedHashMap<>();

        /** A builder of the curves of the run called {@code name}. */
        public Builder(String name) {
            this.name = name;
        }

        /**
         * Adds one point: {@value MetricsLog#STEP} (a whole number ≥ 0) and the series' values (null
         * or non-finite values are left out).
         *
         * @throws IllegalArgumentException naming what is wrong: no or a bad step, too many points or series
         */
        public Builder add(Map<String, Double> record) {
            Double step = record.get(MetricsLog.STEP);
            if (step == null || !(step >= 0) || step != Math.rint(step) || step > 1e15) {
                throw new IllegalArgumentException("'" + MetricsLog.STEP + "' must be a whole number >= 0, got " + step);
            }
            int keep = steps.size;
            while (keep > 0 && steps.values[keep - 1] >= step) {
                keep--;
            }
            steps.size = keep;
            series.values().forEach(column -> column.size = steps.size);
            if (steps.size == MAX_POINTS) {
                throw new IllegalArgumentException("more than " + MAX_POINTS + " points");
            }
            for (String key : record.keySet()) {
                if (!key.equals(MetricsLog.STEP) && !series.containsKey(key)) {
                    if (series.size() == MAX_SERIES) {
                        throw new IllegalArgumentException("more than " + MAX_SERIES + " series (a new one: '" + key + "')");
                    }
                    Column column = new Column();
                    for (int i = 0; i < steps.size; i++) {
                        column.add(Double.NaN);
                    }
                    series.put(key, column);
                }
            }
            steps.add(step);
            series.forEach((key, column) -> {
                Double value = record.get(key);
                column.add(value == null || !Double.isFinite(value) ? Double.NaN : value);
            });
            return this;
        }

        /** The number of points so far. */
        public int size() {
            return steps.size;
        }

        /** The curves collected. */
        public Curves build() {
            Map<String, double[]> columns = new LinkedHashMap<>();
            series.forEach((key, column) -> columns.put(key, column.toArray()));
            return new Curves(name, steps.toArray(), columns);
        }
    }

    /** A growing array of doubles. */
    private static final class Column {
        private double[] values = new double[16];
        private int size;

        void add(double value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        double[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
