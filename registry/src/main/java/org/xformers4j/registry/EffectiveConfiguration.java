package org.xformers4j.registry;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.StringWriter;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * The configuration a configured component runs with, written as an OLCUT XML file: the component
 * and every component it uses, each with all its {@code @Config} properties as the configured objects
 * hold them, the defaults the file left out included. Components the file configured keep their names;
 * a default object of a configurable type (a trainer's optimisation settings the file did not give)
 * becomes a component named {@code OWNER-FIELD}. The file configures the same objects again (an unset
 * optional property is left out), so it can be saved and used as a configuration of its own.
 */
public final class EffectiveConfiguration {

    private static final String INDENT = "    ";

    private EffectiveConfiguration() {
    }

    /**
     * The XML of {@code component}, which {@code manager} configured as {@code name}, and of the
     * components it uses, in the order they are first referred to; a comment above them says
     * {@code source}, where the configuration came from (such as the file and its overrides).
     */
    public static String xml(ConfigurationManager manager, String name, Object component, String source) {
        StringWriter text = new StringWriter();
        try {
            XMLStreamWriter xml = XMLOutputFactory.newFactory().createXMLStreamWriter(text);
            xml.writeStartDocument("UTF-8", "1.0");
            xml.writeCharacters("\n");
            // A comment may not hold "--": the overrides' options are written without their dashes.
            xml.writeComment(" " + ("The effective configuration of '" + name + "': " + source)
                    .replace("--", "- -") + " ");
            xml.writeCharacters("\n");
            xml.writeStartElement("config");
            Map<Object, String> names = new IdentityHashMap<>();
            Deque<Object> pending = new ArrayDeque<>();
            names.put(component, name);
            pending.add(component);
            while (!pending.isEmpty()) {
                Object next = pending.poll();
                writeComponent(xml, manager, names.get(next), next, names, pending);
            }
            xml.writeCharacters("\n");
            xml.writeEndElement();
            xml.writeEndDocument();
            xml.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("cannot write the configuration of '" + name + "': " + e.getMessage(), e);
        }
        return text + "\n";
    }

    private static void writeComponent(XMLStreamWriter xml, ConfigurationManager manager, String name, Object object,
                                       Map<Object, String> names, Deque<Object> pending) throws XMLStreamException {
        Map<String, Object> values = new LinkedHashMap<>();
        for (Field field : configFields(object.getClass())) {
            Object value = read(field, object);
            if (value != null) {
                values.put(field.getName(), value);
            }
        }
        xml.writeCharacters("\n" + INDENT);
        if (values.isEmpty()) {
            xml.writeEmptyElement("component");
        } else {
            xml.writeStartElement("component");
        }
        xml.writeAttribute("name", name);
        xml.writeAttribute("type", object.getClass().getName());
        for (Map.Entry<String, Object> field : values.entrySet()) {
            String property = field.getKey();
            Object value = field.getValue();
            xml.writeCharacters("\n" + INDENT + INDENT);
            if (value instanceof Map<?, ?> map && map.isEmpty()) {
                xml.writeEmptyElement("propertymap");
                xml.writeAttribute("name", property);
            } else if (value instanceof Map<?, ?> map) {
                xml.writeStartElement("propertymap");
                xml.writeAttribute("name", property);
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    xml.writeCharacters("\n" + INDENT + INDENT + INDENT);
                    xml.writeEmptyElement("entry");
                    xml.writeAttribute("key", String.valueOf(entry.getKey()));
                    xml.writeAttribute("value", text(entry.getValue(), manager, name + "-" + property, names, pending));
                }
                xml.writeCharacters("\n" + INDENT + INDENT);
                xml.writeEndElement();
            } else if (value instanceof Collection<?> || value.getClass().isArray()) {
                xml.writeStartElement("propertylist");
                xml.writeAttribute("name", property);
                List<Object> items = items(value);
                for (int i = 0; i < items.size(); i++) {
                    xml.writeCharacters("\n" + INDENT + INDENT + INDENT);
                    xml.writeStartElement("item");
                    xml.writeCharacters(text(items.get(i), manager, name + "-" + property + "-" + i, names, pending));
                    xml.writeEndElement();
                }
                xml.writeCharacters("\n" + INDENT + INDENT);
                xml.writeEndElement();
            } else {
                xml.writeEmptyElement("property");
                xml.writeAttribute("name", property);
                xml.writeAttribute("value", text(value, manager, name + "-" + property, names, pending));
            }
        }
        if (!values.isEmpty()) {
            xml.writeCharacters("\n" + INDENT);
            xml.writeEndElement();
        }
    }

    /**
     * A property's text: a configurable object by its component name (the one {@code manager} gave it,
     * else {@code fallback}), queued to be written once; an enum by its name; anything else as
     * {@link String#valueOf} writes it, which OLCUT parses back.
     */
    private static String text(Object value, ConfigurationManager manager, String fallback, Map<Object, String> names,
                               Deque<Object> pending) {
        if (value instanceof Configurable configurable) {
            String known = names.get(configurable);
            if (known != null) {
                return known;
            }
            String name = manager.getConfiguredName(configurable).orElse(fallback);
            names.put(configurable, name);
            pending.add(configurable);
            return name;
        }
        return value instanceof Enum<?> e ? e.name() : String.valueOf(value);
    }

    private static List<Object> items(Object value) {
        if (value instanceof Collection<?> collection) {
            return new ArrayList<>(collection);
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < Array.getLength(value); i++) {
            out.add(Array.get(value, i));
        }
        return out;
    }

    /** The {@code @Config} fields of {@code type} and its superclasses, superclass fields first. */
    private static List<Field> configFields(Class<?> type) {
        List<Field> out = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            List<Field> declared = new ArrayList<>();
            for (Field f : c.getDeclaredFields()) {
                if (f.isAnnotationPresent(Config.class) && !Modifier.isStatic(f.getModifiers())) {
                    declared.add(f);
                }
            }
            out.addAll(0, declared);
        }
        return out;
    }

    private static Object read(Field field, Object object) {
        try {
            field.setAccessible(true);
            return field.get(object);
        } catch (IllegalAccessException | RuntimeException e) {
            throw new IllegalStateException("cannot read " + field.getDeclaringClass().getName() + "."
                    + field.getName() + ": " + e.getMessage(), e);
        }
    }
}
