package org.xformers4j.registry.command;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/** Writes one JSON document, indented, with Jackson's streaming generator and returns it as text. */
final class JsonOutput {

    private static final JsonFactory FACTORY = new JsonFactory();

    /** What writes the document. */
    @FunctionalInterface
    interface Writer {
        void write(JsonGenerator json) throws IOException;
    }

    private JsonOutput() {
    }

    static String render(Writer writer) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = FACTORY.createGenerator(text)) {
            json.useDefaultPrettyPrinter();
            writer.write(json);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write JSON to memory", e);
        }
        return text.toString();
    }
}
