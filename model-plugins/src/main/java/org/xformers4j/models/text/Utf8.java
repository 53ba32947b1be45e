package org.xformers4j.models.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads text files that must be UTF-8 (training text, tokenizer files), refusing any other bytes
 * with a message that names the file and where the first bad byte is, instead of the JDK's bare
 * {@code Input length = 3} or a silent U+FFFD.
 */
public final class Utf8 {

    private Utf8() {
    }

    /**
     * The text of {@code file}.
     *
     * @throws IOException naming the file if it is missing, unreadable or not UTF-8
     */
    public static String read(Path file) throws IOException {
        return decode(file, readBytes(file));
    }

    /**
     * The bytes of {@code file}.
     *
     * @throws IOException naming the file, and saying so in words, if it is missing or unreadable
     */
    public static byte[] readBytes(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(file + " is a directory, not a file");
        }
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        }
    }

    /**
     * {@code bytes}, read from {@code file}, as UTF-8 text.
     *
     * @throws IOException naming the file, the offset, line and column of the first byte that is not
     *                     UTF-8, and the byte
     */
    public static String decode(Path file, byte[] bytes) throws IOException {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = utf8.decode(in, out, true);
        if (result.isError()) {
            int offset = in.position();
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < offset; i++) {
                if (bytes[i] == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            throw new IOException(String.format("%s is not UTF-8 text: byte 0x%02X at offset %d (line %d, byte %d of "
                    + "the line) is not part of a valid UTF-8 character; save the file as UTF-8", file,
                    bytes[offset] & 0xFF, offset, line, offset - lineStart + 1));
        }
        utf8.flush(out);
        return out.flip().toString();
    }
}
