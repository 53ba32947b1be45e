package org.xformers4j.registry.command;

import java.util.List;
import org.xformers4j.component.ComponentDescriptor;

/**
 * {@code xformers4j info --json}: one object,
 * {@code {"backends":[{"name","available","description"}…], "components":[…]}}, the components as
 * {@link DescriptorJson#writeListed} writes them, in the order given (kind, then name).
 */
final class InfoJson {

    private InfoJson() {
    }

    static String render(List<BackendStatus> backends, List<ComponentDescriptor> components) {
        return JsonOutput.render(json -> {
            json.writeStartObject();
            json.writeArrayFieldStart("backends");
            for (BackendStatus b : backends) {
                json.writeStartObject();
                json.writeStringField("name", b.name());
                json.writeBooleanField("available", b.available());
                json.writeStringField("description", b.description());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeArrayFieldStart("components");
            for (ComponentDescriptor d : components) {
                DescriptorJson.writeListed(json, d);
            }
            json.writeEndArray();
            json.writeEndObject();
        });
    }
}
