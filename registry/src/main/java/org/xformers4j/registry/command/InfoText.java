package org.xformers4j.registry.command;

import java.util.List;
import java.util.Locale;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;

/** {@code xformers4j info} as text: the compute backends, then the components of each kind. */
final class InfoText {

    private InfoText() {
    }

    static String render(List<BackendStatus> backends, List<ComponentDescriptor> components) {
        StringBuilder out = new StringBuilder("Compute backends:\n");
        if (backends.isEmpty()) {
            out.append("  (none)\n");
        } else {
            TextTable table = new TextTable("NAME", "AVAILABLE", "DESCRIPTION");
            backends.forEach(b -> table.row(b.name(), b.available() ? "yes" : "no", b.description()));
            out.append(table.render());
        }
        for (ComponentKind kind : ComponentKind.values()) {
            String label = kind.label();
            out.append('\n').append(label.substring(0, 1).toUpperCase(Locale.ROOT)).append(label.substring(1))
                    .append(" components:\n");
            List<ComponentDescriptor> ofKind = components.stream().filter(d -> d.kind() == kind).toList();
            if (ofKind.isEmpty()) {
                out.append("  (none)\n");
            } else {
                TextTable table = new TextTable("NAME", "SUMMARY");
                ofKind.forEach(d -> table.row(d.name(), d.summary()));
                out.append(table.render());
            }
        }
        return out.toString();
    }
}
