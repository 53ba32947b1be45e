package org.xformers4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a mechanism becomes faster than {@code flash}, from the measured cells of a sweep only:
 * the lengths at which both were measured, compared by their ratio r = time / flash's time. The
 * crossover is the length from which the mechanism stays faster (r &lt; 1 at every longer measured
 * length), interpolated linearly in log(length) against log(r) between the last length where it
 * was not faster and the next; both times grow like a power of the length, so log r is linear in
 * log length between two measurements.
 *
 * @param impl     the mechanism
 * @param causal   the mask
 * @param kind     what the measurements show
 * @param length   the interpolated crossover length ({@link Kind#CROSSES}), the shortest common
 *                 length ({@link Kind#FASTER_THROUGHOUT}), or NaN
 * @param below    the last common length where it was not faster ({@link Kind#CROSSES}), else 0
 * @param above    the next common length, from which it was faster ({@link Kind#CROSSES}), else 0
 * @param longest  the longest length both were measured at, 0 when none
 */
public record Crossover(String impl, boolean causal, Kind kind, double length, int below, int above, int longest) {

    /** What the common measurements show. */
    public enum Kind {
        /** Slower, then faster from a length between two measured ones on. */
        CROSSES,
        /** Faster at every common length. */
        FASTER_THROUGHOUT,
        /** Not faster at the longest common length. */
        NONE,
        /** No length at which both were measured. */
        NOT_MEASURED
    }

    /**
     * The crossover of {@code impl} under {@code causal} against {@code flash}, from the measured
     * cells among {@code cells} (the others are ignored).
     */
    public static Crossover of(String impl, boolean causal, List<AttentionSweep.Cell> cells) {
        List<Integer> lengths = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        for (AttentionSweep.Cell cell : cells) {
            if (cell.impl().equals(impl) && cell.causal() == causal && cell.measured()) {
                AttentionSweep.Cell flash = find(cells, cell.length(), causal);
                if (flash != null) {
                    lengths.add(cell.length());
                    ratios.add(cell.result().ms() / flash.result().ms());
                }
            }
        }
        if (lengths.isEmpty()) {
            return new Crossover(impl, causal, Kind.NOT_MEASURED, Double.NaN, 0, 0, 0);
        }
        int longest = lengths.get(lengths.size() - 1);
        int last = -1; // the last common length where it was not faster
        for (int i = 0; i < ratios.size(); i++) {
            if (ratios.get(i) >= 1) {
                last = i;
            }
        }
        if (last < 0) {
            return new Crossover(impl, causal, Kind.FASTER_THROUGHOUT, lengths.get(0), 0, 0, longest);
        }
        if (last == ratios.size() - 1) {
            return new Crossover(impl, causal, Kind.NONE, Double.NaN, 0, 0, longest);
        }
        double x0 = Math.log(lengths.get(last));
        double x1 = Math.log(lengths.get(last + 1));
        double y0 = Math.log(ratios.get(last));
        double y1 = Math.log(ratios.get(last + 1));
        double at = Math.exp(x0 + (x1 - x0) * y0 / (y0 - y1));
        return new Crossover(impl, causal, Kind.CROSSES, at, lengths.get(last), lengths.get(last + 1), longest);
    }

    /** The measured flash cell at {@code length} under {@code causal}, or null. */
    private static AttentionSweep.Cell find(List<AttentionSweep.Cell> cells, int length, boolean causal) {
        for (AttentionSweep.Cell cell : cells) {
            if (cell.impl().equals(AttentionSweep.BASELINE) && cell.causal() == causal
                    && cell.length() == length && cell.measured()) {
                return cell;
            }
        }
        return null;
    }

    /** One line: e.g. {@code ≈ 2896 (slower at 2048, faster from 4096 on)} or {@code none up to 8192}. */
    public String describe() {
        return switch (kind) {
            case CROSSES -> String.format(Locale.ROOT, "≈ %.0f (slower at %d, faster from %d on)", length, below, above);
            case FASTER_THROUGHOUT -> "faster at every length measured, from " + (int) length;
            case NONE -> "none up to " + longest;
            case NOT_MEASURED -> "not measured next to " + AttentionSweep.BASELINE;
        };
    }
}
