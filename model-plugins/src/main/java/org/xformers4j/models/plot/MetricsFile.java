package org.xformers4j.models.plot;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.xformers4j.train.MetricsLog;

/**
 * Reads the JSON-lines file a {@link MetricsLog} writes ({@code --metrics}) into {@link Curves},
 * treating it as untrusted: each non-blank line must be one JSON object whose values are numbers or
 * null, with a whole {@value MetricsLog#STEP} ≥ 0, no key twice and nothing after it; anything else
 * is refused naming the file and the line. Bounded: at most {@value #MAX_BYTES} bytes, lines of at
 * most {@value #MAX_LINE_BYTES} bytes, and the points and series of {@link Curves}. Records are read
 * in file order, so a resumed run's records, appended to the same file, replace those from the step
 * it resumed at.
 */
public final class MetricsFile {

    /** The largest file read. */
    public static final long MAX_BYTES = 64L << 20;
    /** The longest line read. */
    public static final int MAX_LINE_BYTES = 16 << 10;

    /** The keys a record may have: what {@link MetricsLog} writes, and more of the same form. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private MetricsFile() {
    }

    /**
     * The curves of {@code file}, named {@code name}.
     *
     * @throws IllegalArgumentException naming the file and line of a malformed record, or the file when it
     *                                  is missing, too large or holds no record
     */
    public static Curves read(Path file, String name) {
        Curves.Builder curves = new Curves.Builder(name);
        try (InputStream in = Files.newInputStream(file)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            byte[] chunk = new byte[1 << 16];
            long total = 0;
            int lineNumber = 1;
            for (int read; (read = in.read(chunk)) > 0; ) {
                total += read;
                if (total > MAX_BYTES) {
                    throw new IllegalArgumentException("metrics file " + file + ": larger than " + (MAX_BYTES >> 20)
                            + " MiB");
                }
                for (int i = 0; i < read; i++) {
                    if (chunk[i] == '\n') {
                        record(file, lineNumber++, line.toByteArray(), curves);
                        line.reset();
                    } else if (line.size() == MAX_LINE_BYTES) {
                        throw new IllegalArgumentException("metrics file " + file + ", line " + lineNumber
                                + ": longer than " + MAX_LINE_BYTES + " bytes");
                    } else {
                        line.write(chunk[i]);
                    }
                }
            }
            record(file, lineNumber, line.toByteArray(), curves);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("metrics file " + file + ": no such file", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("metrics file " + file + ": cannot be read: " + e.getMessage(), e);
        }
        if (curves.size() == 0) {
            throw new IllegalArgumentException("metrics file " + file + ": no records (one JSON object per line, "
                    + "as --metrics writes)");
        }
        return curves.build();
    }

    /** Adds the record of line {@code number} to {@code curves}, unless the line is blank. */
    private static void record(Path file, int number, byte[] line, Curves.Builder curves) {
        if (new String(line, StandardCharsets.ISO_8859_1).isBlank()) {
            return;
        }
        try {
            curves.add(parse(line));
        } catch (IOException | IllegalArgumentException e) {
            String message = e instanceof JsonProcessingException json ? json.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("metrics file " + file + ", line " + number + ": " + message, e);
        }
    }

    /** One line's object: key → number, or null for a JSON null. */
    private static Map<String, Double> parse(byte[] line) throws IOException {
        Map<String, Double> record = new LinkedHashMap<>();
        try (JsonParser parser = JSON.createParser(line)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object");
            }
            for (JsonToken token = parser.nextToken(); token != JsonToken.END_OBJECT; token = parser.nextToken()) {
                String key = parser.currentName();
                if (token != JsonToken.FIELD_NAME || !KEY.matcher(key).matches()) {
                    throw new IllegalArgumentException("a key must be 1 to 64 letters, digits, '_', '.' or '-', got "
                            + printable(key));
                }
                JsonToken value = parser.nextToken();
                if (value == JsonToken.VALUE_NULL) {
                    record.put(key, null);
                } else if (value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT) {
                    record.put(key, parser.getDoubleValue());
                } else {
                    throw new IllegalArgumentException("'" + key + "' must be a number or null, got " + kind(value));
                }
            }
            if (parser.nextToken() != null) {
                throw new IllegalArgumentException("more than one JSON value on the line");
            }
        }
        return record;
    }

    /** What a JSON value that is not a number is, in words. */
    private static String kind(JsonToken token) {
        return switch (token) {
            case VALUE_STRING -> "a string";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            default -> String.valueOf(token);
        };
    }

    /** {@code text} quoted, cut to 40 characters, with what a terminal would interpret escaped. */
    private static String printable(String text) {
        if (text == null) {
            return "nothing";
        }
        StringBuilder out = new StringBuilder("'");
        text.codePoints().limit(40).forEach(c -> out.append(c >= 0x20 && c < 0x7f ? Character.toString(c)
                : String.format("\\u%04x", c)));
        return out.append(text.length() > 40 ? "…'" : "'").toString();
    }
}
