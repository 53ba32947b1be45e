package org.xformers4j.registry.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.component.Hyperparameter;

/**
 * A component descriptor as a JSON object: {@code kind}, {@code name}, {@code summary},
 * {@code reference}, (for {@code describe}) {@code implementation}, {@code hyperparameters} (each
 * with {@code name}, {@code type}, {@code default} (null when mandatory or unset), {@code description}, {@code mandatory},
 * {@code range} (null when unbounded) and {@code choices}) and {@code capabilities} (name → value).
 */
final class DescriptorJson {

    private DescriptorJson() {
    }

    /** The object as {@code info --json} lists each component. */
    static void writeListed(JsonGenerator json, ComponentDescriptor d) throws IOException {
        write(json, d, false);
    }

    /** The object as {@code describe --json} prints it: the listed fields and the implementation class. */
    static void writeFull(JsonGenerator json, ComponentDescriptor d) throws IOException {
        write(json, d, true);
    }

    private static void write(JsonGenerator json, ComponentDescriptor d, boolean implementation) throws IOException {
        json.writeStartObject();
        json.writeStringField("kind", d.kind().label());
        json.writeStringField("name", d.name());
        json.writeStringField("summary", d.summary());
        json.writeStringField("reference", d.reference());
        if (implementation) {
            json.writeStringField("implementation", d.implementation());
        }
        json.writeArrayFieldStart("hyperparameters");
        for (Hyperparameter h : d.hyperparameters()) {
            writeHyperparameter(json, h);
        }
        json.writeEndArray();
        json.writeObjectFieldStart("capabilities");
        for (Map.Entry<String, Object> capability : d.capabilityMap().entrySet()) {
            json.writeFieldName(capability.getKey());
            writeValue(json, capability.getValue());
        }
        json.writeEndObject();
        json.writeEndObject();
    }

    /**
     * The object {@code describe --json} prints for a configurable class: {@code kind}
     * ({@code "configurable"}), {@code name}, {@code role}, {@code summary}, {@code implementation} and
     * {@code hyperparameters} as a component's.
     */
    static void writeConfigurable(JsonGenerator json, ConfigurableDescriptor d) throws IOException {
        json.writeStartObject();
        json.writeStringField("kind", "configurable");
        json.writeStringField("name", d.name());
        json.writeStringField("role", d.role());
        json.writeStringField("summary", d.summary());
        json.writeStringField("implementation", d.implementation());
        json.writeArrayFieldStart("hyperparameters");
        for (Hyperparameter h : d.hyperparameters()) {
            writeHyperparameter(json, h);
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    private static void writeHyperparameter(JsonGenerator json, Hyperparameter h) throws IOException {
        json.writeStartObject();
        json.writeStringField("name", h.name());
        json.writeStringField("type", h.type());
        json.writeStringField("default", h.defaultValue());
        json.writeStringField("description", h.description());
        json.writeBooleanField("mandatory", h.mandatory());
        json.writeStringField("range", h.range().isEmpty() ? null : h.range());
        json.writeArrayFieldStart("choices");
        for (String choice : h.choices()) {
            json.writeString(choice);
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    /** Capability values are booleans, numbers, or text (strings and enum names). */
    private static void writeValue(JsonGenerator json, Object value) throws IOException {
        if (value instanceof Boolean b) {
            json.writeBoolean(b);
        } else if (value instanceof Number n) {
            json.writeNumber(n.toString());
        } else if (value instanceof List<?> list) {
            json.writeStartArray();
            for (Object item : list) {
                writeValue(json, item);
            }
            json.writeEndArray();
        } else {
            json.writeString(String.valueOf(value));
        }
    }
}
