package org.xformers4j.models.command;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 text from a byte stream that refuses bytes that are not UTF-8 instead of replacing them
 * with U+FFFD, and fails exactly where they are: the characters before a malformed sequence are
 * all delivered first, so a reader that counts lines or rows meets the failure in the right one.
 * The failure is kept ({@link #failure()}) for callers whose libraries drop the exception's cause.
 */
final class StrictUtf8Reader extends Reader {

    /** Bytes that are not UTF-8, at a byte offset of the stream. */
    static final class MalformedUtf8Exception extends IOException {
        private final long offset;

        MalformedUtf8Exception(long offset) {
            super("not UTF-8 text: malformed bytes at byte offset " + offset);
            this.offset = offset;
        }

        long offset() {
            return offset;
        }
    }

    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteBuffer bytes = ByteBuffer.allocate(1 << 13).flip();
    /** The stream offset of {@code bytes.array()[0]}. */
    private long base;
    private boolean endOfInput;
    private MalformedUtf8Exception failure;

    StrictUtf8Reader(InputStream in) {
        this.in = in;
    }

    @Override
    public int read(char[] target, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        CharBuffer out = CharBuffer.wrap(target, offset, length);
        while (out.position() == offset) {
            if (failure != null) {
                throw failure;
            }
            CoderResult result = decoder.decode(bytes, out, endOfInput);
            if (result.isError()) {
                failure = new MalformedUtf8Exception(base + bytes.position());
            } else if (result.isOverflow()) {
                break;
            } else if (endOfInput) {
                return out.position() == offset ? -1 : out.position() - offset;
            } else {
                refill();
            }
        }
        return out.position() - offset;
    }

    /** Keeps the undecoded bytes and reads more after them; at the end of the stream, sets {@link #endOfInput}. */
    private void refill() throws IOException {
        base += bytes.position();
        bytes.compact();
        int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
        if (n < 0) {
            endOfInput = true;
        } else {
            bytes.position(bytes.position() + n);
        }
        bytes.flip();
    }

    /** The malformed bytes met so far, or null. */
    MalformedUtf8Exception failure() {
        return failure;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
