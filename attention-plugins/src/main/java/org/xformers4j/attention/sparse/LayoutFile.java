package org.xformers4j.attention.sparse;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A block layout read from a text file, for {@code block-sparse} with {@code pattern = FILE}. The
 * file is untrusted: every departure from the format is an {@link IllegalArgumentException} naming
 * the file, the line and the value, and sizes are bounded before anything is allocated.
 *
 * <pre>
 *   # comment lines start with '#'; blank lines are skipped
 *   layout HEADS BLOCKS
 *   BLOCKS lines of BLOCKS characters, '1' (the query block of the line sees the key block of the
 *   column) or '0', for head 0, then head 1, ... (HEADS = 1: one layout for every head)
 * </pre>
 *
 * A layout of B blocks serves sequences of up to B · blockSize positions: a shorter one uses its
 * leading ⌈N / blockSize⌉ rows and columns.
 */
final class LayoutFile {

    /** The most heads a file may declare. */
    static final int MAX_HEADS = 1024;
    /** The most blocks of one head's layout. */
    static final int MAX_BLOCKS = 4096;
    /** The most cells (heads · blocks²) of a file, and so the most characters of its rows. */
    static final long MAX_CELLS = 1L << 24;

    /** 1 or the heads of the model. */
    final int heads;
    /** Query and key blocks. */
    final int blocks;
    /** [heads][blocks][blocks]. */
    private final boolean[][][] mask;

    private LayoutFile(int heads, int blocks, boolean[][][] mask) {
        this.heads = heads;
        this.blocks = blocks;
        this.mask = mask;
    }

    /**
     * Reads and checks {@code file}.
     *
     * @throws IllegalArgumentException naming the file, line and value, for an unreadable or malformed file
     */
    static LayoutFile read(Path file) {
        try {
            long bytes = Files.size(file);
            if (bytes > 2 * MAX_CELLS) {
                throw new IllegalArgumentException("layout file " + file + " has " + bytes + " bytes, more than the "
                        + 2 * MAX_CELLS + " of the largest layout");
            }
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                return parse(file, in);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read layout file " + file + ": " + e, e);
        }
    }

    private static LayoutFile parse(Path file, BufferedReader in) throws IOException {
        int lineNumber = 0;
        String header = null;
        String line;
        while (header == null && (line = in.readLine()) != null) {
            lineNumber++;
            if (!skipped(line)) {
                header = line.strip();
            }
        }
        if (header == null) {
            throw new IllegalArgumentException("layout file " + file + " is empty: it must start with 'layout HEADS BLOCKS'");
        }
        String[] words = header.split("\\s+");
        if (words.length != 3 || !words[0].equals("layout")) {
            throw new IllegalArgumentException(at(file, lineNumber) + "expected 'layout HEADS BLOCKS', got '"
                    + shorten(header) + "'");
        }
        int heads = number(file, lineNumber, "HEADS", words[1], MAX_HEADS);
        int blocks = number(file, lineNumber, "BLOCKS", words[2], MAX_BLOCKS);
        if ((long) heads * blocks * blocks > MAX_CELLS) {
            throw new IllegalArgumentException(at(file, lineNumber) + heads + " heads of " + blocks + " × " + blocks
                    + " blocks exceed the " + MAX_CELLS + " cells of the largest layout");
        }
        boolean[][][] mask = new boolean[heads][blocks][blocks];
        int rows = 0;
        while ((line = in.readLine()) != null) {
            lineNumber++;
            if (skipped(line)) {
                continue;
            }
            String row = line.strip();
            if (rows == heads * blocks) {
                throw new IllegalArgumentException(at(file, lineNumber) + "unexpected '" + shorten(row)
                        + "' after the last of the " + heads * blocks + " rows");
            }
            if (row.length() != blocks) {
                throw new IllegalArgumentException(at(file, lineNumber) + "row " + rows % blocks + " of head "
                        + rows / blocks + " has " + row.length() + " characters, expected " + blocks);
            }
            for (int c = 0; c < blocks; c++) {
                char ch = row.charAt(c);
                if (ch != '0' && ch != '1') {
                    throw new IllegalArgumentException(at(file, lineNumber) + "column " + (c + 1) + " is '" + ch
                            + "', expected '0' or '1'");
                }
                mask[rows / blocks][rows % blocks][c] = ch == '1';
            }
            rows++;
        }
        if (rows < heads * blocks) {
            throw new IllegalArgumentException("layout file " + file + " ends after " + rows + " of its "
                    + heads * blocks + " rows (" + heads + " heads × " + blocks + " blocks)");
        }
        return new LayoutFile(heads, blocks, mask);
    }

    private static boolean skipped(String line) {
        String s = line.strip();
        return s.isEmpty() || s.startsWith("#");
    }

    private static int number(Path file, int line, String name, String word, int max) {
        int value;
        try {
            value = Integer.parseInt(word);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(at(file, line) + name + " must be an integer, got '" + shorten(word) + "'");
        }
        if (value < 1 || value > max) {
            throw new IllegalArgumentException(at(file, line) + name + " must be in [1, " + max + "], got " + value);
        }
        return value;
    }

    private static String at(Path file, int line) {
        return "layout file " + file + ", line " + line + ": ";
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    /**
     * Adds the row of head {@code h} (head 0 for a shared layout) and the rows' current query block
     * to {@code rows}, for a sequence of {@code n} blocks ({@link #checkFits} first).
     */
    void addRow(BlockRows rows, int h, int n) {
        boolean[] row = mask[heads == 1 ? 0 : h][rows.queryBlock()];
        for (int kb = 0; kb < n; kb++) {
            if (row[kb]) {
                rows.add(kb);
            }
        }
    }

    /**
     * Checks that the file serves {@code modelHeads} heads over {@code n} blocks.
     *
     * @throws IllegalArgumentException otherwise, naming the sizes
     */
    void checkFits(int modelHeads, int n, int blockSize) {
        if (heads != 1 && heads != modelHeads) {
            throw new IllegalArgumentException("the layout file has " + heads + " heads; the model has " + modelHeads
                    + " (a file of 1 head serves every head)");
        }
        if (n > blocks) {
            throw new IllegalArgumentException("the layout file has " + blocks + " blocks of " + blockSize
                    + " positions, fewer than the " + n + " of a sequence of up to " + n * blockSize + " positions");
        }
    }
}
