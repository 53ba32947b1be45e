package org.xformers4j.models.command;

import org.tribuo.data.csv.CSVIterator;
import org.tribuo.data.columnar.ColumnarIterator;

import java.io.Closeable;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * A CSV or TSV file with a header line, read once and streaming: Tribuo's {@link CSVIterator} (RFC 4180
 * quoting, with the file's {@link #separator}) over strict UTF-8 text, one row at a time, so memory does not grow with the file. Every
 * fault is an {@link IllegalArgumentException} naming the file, and the row (counted from 1 after
 * the header line) and column where it has them: a missing or empty file, a header that names a
 * column twice or not at all, bytes that are not UTF-8 (never replaced with U+FFFD), a row with
 * more or fewer cells than the header, an empty text cell, a cell that is not a number or not a
 * finite 32-bit float (the models compute in float: 1e39 would become infinity).
 *
 * <p>A file whose name ends in {@code .gz} is gzip-compressed CSV (or TSV: the separator follows the name
 * without {@code .gz}), decompressed as it is read; data that are not gzip, or damaged or cut short, are
 * refused naming the file and the row where decompression failed. Whatever the file, a line of more than
 * {@value #MAX_LINE_BYTES} bytes is refused naming it before it is held in memory, so that neither a
 * huge file without line breaks nor a small compressed one that expands into one can exhaust the memory.
 */
final class CsvTable implements AutoCloseable {

    /** Tribuo's message for a row whose cell count differs from the header's. */
    private static final Pattern CELL_COUNT = Pattern.compile("headers has (\\d+) elements, current line has (\\d+)");

    /** The longest line read, in bytes (16 MiB): a row of a million numbers of 16 characters fits. */
    static final int MAX_LINE_BYTES = 1 << 24;

    private final Path file;
    private final StrictUtf8Reader text;
    private final Bytes bytes;
    private final CSVIterator rows;
    private final List<String> columns;
    private long read;

    private CsvTable(Path file, Bytes bytes, StrictUtf8Reader text, CSVIterator rows, List<String> columns) {
        this.file = file;
        this.bytes = bytes;
        this.text = text;
        this.rows = rows;
        this.columns = columns;
    }

    /**
     * The cell separator of {@code file}: {@code option} (the value of {@code --separator}: one
     * character, or {@code tab}) when given (not null), else a tab for a {@code .tsv} or {@code .tab}
     * file and a comma for any other.
     */
    static char separator(Path file, String option) {
        if (option == null) {
            String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".gz")) {
                name = name.substring(0, name.length() - ".gz".length());
            }
            return name.endsWith(".tsv") || name.endsWith(".tab") ? '\t' : CSVIterator.SEPARATOR;
        }
        if (option.equals("tab") || option.equals("\t")) {
            return '\t';
        }
        if (option.length() != 1 || option.charAt(0) == CSVIterator.QUOTE || option.charAt(0) == '\n'
                || option.charAt(0) == '\r') {
            throw new IllegalArgumentException("--separator must be one character other than a quote or a line break, "
                    + "or 'tab', got '" + option + "'");
        }
        return option.charAt(0);
    }

    /** Opens {@code file}, its cells separated by {@link #separator separator(file, null)}, and reads its header line. */
    static CsvTable open(Path file) {
        return open(file, separator(file, null));
    }

    /** Opens {@code file}, its cells separated by {@code separator}, and reads its header line. */
    static CsvTable open(Path file, char separator) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file");
        }
        InputStream in;
        try {
            in = Files.newInputStream(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot be read: " + e.getMessage(), e);
        }
        if (file.toString().toLowerCase(Locale.ROOT).endsWith(".gz")) {
            try {
                in = new GZIPInputStream(in, 1 << 16);
            } catch (IOException e) {
                closeQuietly(in);
                throw new IllegalArgumentException(file + ": not gzip-compressed data, as its name ending in .gz says ("
                        + (e instanceof EOFException ? "it is cut short" : e.getMessage()) + ")", e);
            }
        }
        return open(file, in, separator);
    }

    /** Reads the header line of the CSV text in {@code in}, which errors call {@code file}. */
    static CsvTable open(Path file, InputStream in) {
        return open(file, in, CSVIterator.SEPARATOR);
    }

    /** Reads the header line of the text in {@code in}, cells separated by {@code separator}, which errors call {@code file}. */
    static CsvTable open(Path file, InputStream in, char separator) {
        Bytes bytes = new Bytes(in);
        StrictUtf8Reader text = new StrictUtf8Reader(bytes);
        // Tribuo's byte-order-mark check reads one character and pushes it back even at the end of
        // the input, where it pushes back (char) -1 as a header: an empty file must not reach it.
        PushbackReader start = new PushbackReader(text);
        try {
            int first = start.read();
            if (first < 0) {
                closeQuietly(text);
                throw new IllegalArgumentException(file + ": empty, expected a header line and at least one row");
            }
            start.unread(first);
        } catch (IOException e) {
            closeQuietly(text);
            throw new IllegalArgumentException(file + ": the header line is " + e.getMessage(), e);
        }
        CSVIterator rows;
        try {
            rows = new CSVIterator(start, separator, CSVIterator.QUOTE, (List<String>) null);
        } catch (RuntimeException e) {
            closeQuietly(text);
            throw new IllegalArgumentException(file + ": the header line " + (bytes.failure != null
                    ? "cannot be read: " + bytes.failure : text.failure() != null
                    ? "is " + text.failure().getMessage() : "cannot be read: " + e.getMessage()), e);
        }
        List<String> columns = rows.getFields();
        if (columns == null || columns.isEmpty()) {
            closeQuietly(text);
            throw new IllegalArgumentException(file + ": empty, expected a header line and at least one row");
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < columns.size(); i++) {
            String name = columns.get(i);
            if (name.isBlank()) {
                closeQuietly(text);
                throw new IllegalArgumentException(file + ": column " + (i + 1) + " of the header line has no name");
            }
            Integer first = seen.putIfAbsent(name, i + 1);
            if (first != null) {
                closeQuietly(text);
                throw new IllegalArgumentException(file + ": the header line names column '" + name + "' twice, as "
                        + "column " + first + " and column " + (i + 1));
            }
        }
        return new CsvTable(file, bytes, text, rows, columns);
    }

    /** The column names of the header line, in order, each once. */
    List<String> columns() {
        return columns;
    }

    /** The file the errors name. */
    Path file() {
        return file;
    }

    /**
     * Hands each remaining row to {@code action}, in order, reading the next one only after
     * {@code action} returns; at least one row must be there.
     */
    void forEach(Consumer<Row> action) {
        for (Row row = next(); row != null; row = next()) {
            action.accept(row);
        }
        if (read == 0) {
            throw new IllegalArgumentException(file + ": empty, expected a header line and at least one row");
        }
    }

    /** The next row, or null at the end of the file. */
    private Row next() {
        ColumnarIterator.Row row;
        try {
            if (!rows.hasNext()) {
                return null;
            }
            row = rows.next();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + " row " + (read + 1) + ": " + rowFault(e), e);
        }
        ++read;
        return new Row(read, row);
    }

    private String rowFault(RuntimeException e) {
        if (bytes.failure != null) {
            return bytes.failure;
        }
        if (text.failure() != null) {
            return text.failure().getMessage();
        }
        Matcher cells = CELL_COUNT.matcher(String.valueOf(e.getMessage()));
        if (cells.find()) {
            return "it has " + cells.group(2) + " cells but the header line names " + cells.group(1) + " columns";
        }
        return "not a CSV row: " + Command.messages(e);
    }

    @Override
    public void close() {
        closeQuietly(text);
    }

    private static void closeQuietly(Closeable text) {
        try {
            text.close();
        } catch (IOException e) {
            // reading is over; nothing was written
        }
    }

    /**
     * The file's bytes (decompressed), counting the bytes of the current line: a line longer than
     * {@value #MAX_LINE_BYTES} bytes, and a failure of decompression, end the reading with an
     * {@link IOException} whose description is kept in {@link #failure}, as Tribuo's CSV reader does
     * not pass the cause on.
     */
    private static final class Bytes extends FilterInputStream {
        private final byte[] one = new byte[1];
        private long line = 1;
        private long lineBytes;
        private String failure;

        Bytes(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (failure != null) {
                throw new IOException(failure);
            }
            int n;
            try {
                n = super.read(buffer, offset, length);
            } catch (EOFException e) {
                throw fail("the compressed data are cut short (" + e.getMessage() + ")");
            } catch (ZipException e) {
                throw fail("the compressed data are damaged (" + e.getMessage() + ")");
            }
            for (int i = offset; i < offset + Math.max(0, n); i++) {
                if (buffer[i] == '\n') {
                    line++;
                    lineBytes = 0;
                } else if (++lineBytes > MAX_LINE_BYTES) {
                    throw fail("line " + line + " is longer than " + MAX_LINE_BYTES + " bytes, the most a line may have");
                }
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            throw new IOException("CsvTable reads every byte");
        }

        private IOException fail(String what) {
            failure = what;
            return new IOException(what);
        }
    }

    /** One row: its cells by column name. */
    final class Row {
        private final long number;
        private final ColumnarIterator.Row row;
        private final Map<String, String> cells;

        private Row(long number, ColumnarIterator.Row row) {
            this.number = number;
            this.row = row;
            this.cells = row.getRowData();
        }

        /** The row as Tribuo's columnar loading reads it ({@code RowProcessor}). */
        ColumnarIterator.Row columnar() {
            return row;
        }

        /** The text of {@code column}, which may be empty. */
        String cell(String column) {
            return cells.get(column);
        }

        /** The row's number, from 1 after the header line. */
        long number() {
            return number;
        }

        /** The text of {@code column}, which must not be empty. */
        String text(String column) {
            String cell = cells.get(column);
            if (cell == null || cell.isBlank()) {
                throw fault(column, "empty");
            }
            return cell;
        }

        /** The number in {@code column}: a decimal that is finite as a 32-bit float. */
        double number(String column) {
            String cell = cells.get(column);
            double value;
            try {
                value = Double.parseDouble(cell.trim());
            } catch (NumberFormatException e) {
                throw fault(column, "not a number: '" + cell + "' (a column of text, of categories or of row names? "
                        + "name it with --text, --categorical or --id)");
            }
            if (!Double.isFinite(value)) {
                throw fault(column, cell + " (features must be finite numbers)");
            }
            if (Math.abs(value) > Float.MAX_VALUE) {
                throw fault(column, cell + " is beyond the range of a 32-bit float (±" + Float.MAX_VALUE
                        + "), which the models compute in");
            }
            return value;
        }

        private IllegalArgumentException fault(String column, String what) {
            return new IllegalArgumentException(file + " row " + number + ", column '" + column + "': " + what);
        }
    }
}
