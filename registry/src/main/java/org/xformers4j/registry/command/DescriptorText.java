package org.xformers4j.registry.command;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.Hyperparameter;

/** {@code xformers4j describe NAME} as text: what the component is, its hyperparameters and capabilities. */
final class DescriptorText {

    private DescriptorText() {
    }

    static String render(ComponentDescriptor d) {
        StringBuilder out = new StringBuilder();
        out.append(d.name()).append(" (").append(d.kind().label()).append(")\n");
        out.append("  ").append(d.summary()).append('\n');
        out.append("  reference:       ").append(d.reference()).append('\n');
        out.append("  implementation:  ").append(d.implementation()).append('\n');

        out.append("\nHyperparameters:\n");
        if (d.hyperparameters().isEmpty()) {
            out.append("  (none)\n");
        } else {
            TextTable table = new TextTable("NAME", "TYPE", "DEFAULT", "VALID", "DESCRIPTION");
            for (Hyperparameter h : d.hyperparameters()) {
                table.row(h.name(), h.type(), defaultValue(h), valid(h), h.description());
            }
            out.append(table.render());
        }

        out.append("\nCapabilities:\n");
        TextTable table = new TextTable("NAME", "VALUE");
        for (Map.Entry<String, Object> capability : d.capabilityMap().entrySet()) {
            table.row(capability.getKey(), text(capability.getValue()));
        }
        out.append(table.render());
        return out.toString();
    }

    /** A capability's value; a list's entries are separated by "; ", since an entry may hold ", ". */
    private static String text(Object value) {
        return value instanceof List<?> list
                ? "[" + String.join("; ", list.stream().map(String::valueOf).toList()) + "]"
                : String.valueOf(value);
    }

    private static String defaultValue(Hyperparameter h) {
        if (h.mandatory()) {
            return "(required)";
        }
        return h.defaultValue() == null ? "(unset)" : h.defaultValue();
    }

    private static String valid(Hyperparameter h) {
        if (!h.range().isEmpty()) {
            return h.range();
        }
        return h.choices().isEmpty() ? "any" : String.join(" | ", h.choices());
    }
}
