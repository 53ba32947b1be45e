package org.xformers4j.models.command;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The prompts of {@code generate --input FILE}: one per line of a UTF-8 file, read one at a time
 * (the file may be longer than memory). The file is untrusted: a line longer than
 * {@value #MAX_LINE_CHARACTERS} characters and bytes that are not UTF-8 are refused naming the file
 * and the line. Empty lines are skipped (they hold no prompt) but counted; a line's ending,
 * {@code \n} or {@code \r\n}, is not part of its prompt.
 */
final class PromptFile implements Closeable {

    /** The longest line accepted, in UTF-16 characters: far beyond any model's context, and a bounded buffer. */
    static final int MAX_LINE_CHARACTERS = 1 << 16;

    /** A prompt and the line (1-based) it was read from. */
    record Prompt(int line, String text) {
    }

    private final Path file;
    private final StrictUtf8Reader utf8;
    private final BufferedReader reader;
    private final StringBuilder line = new StringBuilder();
    private int lineNumber;

    private PromptFile(Path file, StrictUtf8Reader utf8) {
        this.file = file;
        this.utf8 = utf8;
        this.reader = new BufferedReader(utf8);
    }

    /**
     * Opens {@code file}.
     *
     * @throws UncheckedIOException naming the file if it cannot be opened
     */
    static PromptFile open(Path file) {
        try {
            return new PromptFile(file, new StrictUtf8Reader(Files.newInputStream(file)));
        } catch (IOException e) {
            throw new UncheckedIOException("--input " + file + ": cannot be read (" + e + ")", e);
        }
    }

    /**
     * The prompt of the next non-empty line, or null at the end of the file.
     *
     * @throws IllegalArgumentException naming the file and line of bytes that are not UTF-8 or of a line that is
     *                                  too long
     * @throws UncheckedIOException     naming the file if it cannot be read
     */
    Prompt next() {
        try {
            while (true) {
                line.setLength(0);
                lineNumber++;
                int c = reader.read();
                if (c < 0) {
                    return null;
                }
                for (; c >= 0 && c != '\n'; c = reader.read()) {
                    if (line.length() == MAX_LINE_CHARACTERS) {
                        throw new IllegalArgumentException(String.format(Locale.ROOT, "--input %s line %d: longer "
                                + "than %,d characters; put one prompt on each line", file, lineNumber,
                                MAX_LINE_CHARACTERS));
                    }
                    line.append((char) c);
                }
                if (!line.isEmpty() && line.charAt(line.length() - 1) == '\r') {
                    line.setLength(line.length() - 1);
                }
                if (!line.isEmpty()) {
                    return new Prompt(lineNumber, line.toString());
                }
            }
        } catch (StrictUtf8Reader.MalformedUtf8Exception e) {
            throw new IllegalArgumentException("--input " + file + " line " + lineNumber + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("--input " + file + ": reading failed at line " + lineNumber + " (" + e
                    + ")", e);
        }
    }

    @Override
    public void close() {
        try {
            utf8.close();
        } catch (IOException e) {
            throw new UncheckedIOException("--input " + file + ": closing failed (" + e + ")", e);
        }
    }
}
