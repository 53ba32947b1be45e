package org.xformers4j.registry.command;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.component.Hyperparameter;

/**
 * {@code xformers4j describe NAME} as text: what the component is, its hyperparameters and
 * capabilities; or what the configurable class is and its properties.
 */
final class DescriptorText {

    private DescriptorText() {
    }

    static String render(ComponentDescriptor d) {
        StringBuilder out = new StringBuilder();
        out.append(d.name()).append(" (").append(d.kind().label()).append(")\n");
        out.append("  ").append(d.summary()).append('\n');
        out.append("  reference:       ").append(d.reference()).append('\n');
        out.append("  implementation:  ").append(d.implementation()).append('\n');

        out.append("\nHyperparameters:\n").append(table(d.hyperparameters()));

        out.append("\nCapabilities:\n");
        TextTable table = new TextTable("NAME", "VALUE");
        for (Map.Entry<String, Object> capability : d.capabilityMap().entrySet()) {
            table.row(capability.getKey(), text(capability.getValue()));
        }
        out.append(table.render());
        return out.toString();
    }

    /**
     * {@code xformers4j describe NAME} of a configurable class (a trainer, encoder, head…): what it
     * is and its properties, as a component's hyperparameters are shown.
     */
    static String render(ConfigurableDescriptor d) {
        return d.name() + " (" + d.role() + ")\n"
                + "  " + d.summary() + "\n"
                + "  implementation:  " + d.implementation() + "\n"
                + "\nProperties:\n" + table(d.hyperparameters());
    }

    /** The table of {@code @Config} fields, or {@code (none)}. */
    private static String table(List<Hyperparameter> hyperparameters) {
        if (hyperparameters.isEmpty()) {
            return "  (none)\n";
        }
        TextTable table = new TextTable("NAME", "TYPE", "DEFAULT", "VALID", "DESCRIPTION");
        for (Hyperparameter h : hyperparameters) {
            table.row(h.name(), h.type(), defaultValue(h), valid(h), h.description());
        }
        return table.render();
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
