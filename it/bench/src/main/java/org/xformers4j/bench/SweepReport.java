package org.xformers4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/** The output of {@code bench attention-sweep}: a table per mask with the crossovers, or one JSON object. */
public final class SweepReport {

    private SweepReport() {
    }

    /**
     * Per mask, a row per length with each mechanism's milliseconds per call and peak extra MiB
     * (or why it was not measured), then each mechanism's crossover with {@code flash}.
     */
    public static String text(AttentionSweep.Plan plan, List<AttentionSweep.Cell> cells) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "attention sweep: batch %d, heads %d, dim %d, %s, lengths %d to %d, median of %d run(s), at most %s s "
                        + "per call%n(ms per call / peak extra MiB)%n", plan.batch(), plan.heads(), plan.dim(),
                plan.backward() ? "forward+backward" : "forward", plan.from(), plan.to(), plan.runs(),
                BenchNumbers.format(plan.maxSeconds())));
        for (boolean causal : plan.masks()) {
            String mask = causal ? "causal" : "non-causal";
            List<List<String>> rows = new ArrayList<>();
            List<String> header = new ArrayList<>(List.of("length"));
            header.addAll(plan.impls());
            rows.add(header);
            for (int length : plan.lengths()) {
                List<String> row = new ArrayList<>(List.of(Integer.toString(length)));
                for (String impl : plan.impls()) {
                    row.add(cells.stream().filter(c -> c.impl().equals(impl) && c.causal() == causal
                            && c.length() == length).findFirst().map(SweepReport::cellText).orElse(""));
                }
                rows.add(row);
            }
            out.append(System.lineSeparator()).append(mask).append(System.lineSeparator()).append(table(rows));
            List<String> others = plan.impls().subList(1, plan.impls().size());
            if (!others.isEmpty()) {
                out.append("crossover with ").append(AttentionSweep.BASELINE).append(" (").append(mask)
                        .append("):").append(System.lineSeparator());
                int width = others.stream().mapToInt(String::length).max().orElse(0);
                for (String impl : others) {
                    out.append("  ").append(pad(impl, width)).append("  ")
                            .append(Crossover.of(impl, causal, cells).describe()).append(System.lineSeparator());
                }
            }
        }
        return out.toString();
    }

    /** {@code 12.345 / 4.0}, or a dash and why the cell was not measured. */
    static String cellText(AttentionSweep.Cell cell) {
        return switch (cell.status()) {
            case MEASURED -> BenchNumbers.format(cell.result().ms()) + " / "
                    + String.format(Locale.ROOT, "%.1f", cell.result().peakBytes() / (1024.0 * 1024.0));
            case OVER_BUDGET -> "—, over budget";
            case NOT_CAUSAL -> "—, not causal";
            case FAILED -> "—, failed: " + cell.detail();
            case AFTER_FAILURE -> "—";
        };
    }

    /** Rows of cells in columns, the first right-aligned (lengths), the others left-aligned, indented by 2. */
    private static String table(List<List<String>> rows) {
        int columns = rows.get(0).size();
        int[] widths = new int[columns];
        for (List<String> row : rows) {
            for (int c = 0; c < columns; c++) {
                widths[c] = Math.max(widths[c], row.get(c).length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder("  ");
            line.append(" ".repeat(widths[0] - row.get(0).length())).append(row.get(0));
            for (int c = 1; c < columns; c++) {
                line.append("  ").append(pad(row.get(c), widths[c]));
            }
            out.append(line.toString().stripTrailing()).append(System.lineSeparator());
        }
        return out.toString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }

    /**
     * One JSON object: the plan, every cell ({@code ms}, {@code gflops}, {@code peak_bytes} null
     * unless measured) and every crossover ({@code length} null unless it crosses or is faster
     * throughout).
     */
    public static String json(AttentionSweep.Plan plan, List<AttentionSweep.Cell> cells) {
        StringJoiner cellJson = new StringJoiner(",", "[", "]");
        for (AttentionSweep.Cell c : cells) {
            AttentionBenchmark.Result r = c.result();
            cellJson.add("{\"impl\":" + string(c.impl()) + ",\"causal\":" + c.causal() + ",\"length\":" + c.length()
                    + ",\"status\":" + string(c.status().name().toLowerCase(Locale.ROOT).replace('_', '-'))
                    + ",\"ms\":" + (r == null ? "null" : BenchNumbers.format(r.ms()))
                    + ",\"gflops\":" + (r == null || r.gflops() == null ? "null" : BenchNumbers.format(r.gflops()))
                    + ",\"peak_bytes\":" + (r == null ? "null" : Long.toString(r.peakBytes()))
                    + ",\"detail\":" + string(c.detail()) + "}");
        }
        StringJoiner crossovers = new StringJoiner(",", "[", "]");
        for (boolean causal : plan.masks()) {
            for (String impl : plan.impls().subList(1, plan.impls().size())) {
                Crossover x = Crossover.of(impl, causal, cells);
                crossovers.add("{\"impl\":" + string(impl) + ",\"causal\":" + causal + ",\"result\":"
                        + string(x.kind().name().toLowerCase(Locale.ROOT).replace('_', '-'))
                        + ",\"length\":" + BenchNumbers.format(x.length())
                        + ",\"slower_at\":" + (x.below() == 0 ? "null" : x.below())
                        + ",\"faster_from\":" + (x.above() == 0 ? "null" : x.above())
                        + ",\"longest_common\":" + (x.longest() == 0 ? "null" : x.longest()) + "}");
            }
        }
        return "{\"batch\":" + plan.batch() + ",\"heads\":" + plan.heads() + ",\"dim\":" + plan.dim()
                + ",\"backward\":" + plan.backward() + ",\"runs\":" + plan.runs() + ",\"max_seconds\":"
                + BenchNumbers.format(plan.maxSeconds()) + ",\"cells\":" + cellJson + ",\"crossovers\":" + crossovers
                + "}";
    }

    /** A JSON string literal. */
    private static String string(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
