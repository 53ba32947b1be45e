package org.xformers4j.registry.command;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Rows of text in left-aligned columns under a header, two spaces apart; the last column is not padded. */
final class TextTable {

    private static final String INDENT = "  ";
    private static final String GAP = "  ";

    private final List<String[]> rows = new ArrayList<>();

    TextTable(String... header) {
        rows.add(header.clone());
    }

    /** Adds a row with one cell per header column; null cells print empty. */
    TextTable row(String... cells) {
        if (cells.length != rows.get(0).length) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, the header " + rows.get(0).length
                    + ": " + Arrays.toString(cells));
        }
        rows.add(Arrays.stream(cells).map(c -> c == null ? "" : c).toArray(String[]::new));
        return this;
    }

    /** The table, each line indented and ending in a newline. */
    String render() {
        int columns = rows.get(0).length;
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder(INDENT);
            for (int c = 0; c < columns; c++) {
                line.append(c < columns - 1 ? String.format("%-" + widths[c] + "s", row[c]) + GAP : row[c]);
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }
}
