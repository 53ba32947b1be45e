package org.xformers4j.registry;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.ConfigurationData;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.config.property.ListProperty;
import com.oracle.labs.mlrg.olcut.config.property.MapProperty;
import com.oracle.labs.mlrg.olcut.config.property.SimpleProperty;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.Attributes;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.ext.DefaultHandler2;
import org.xformers4j.registry.internal.Suggestions;

/**
 * Opens an OLCUT XML configuration that a user handed over, treating it as untrusted: the way every
 * command and API of this project loads a configuration file.
 *
 * <p>OLCUT's own SAX parser resolves external entities (a {@code <!DOCTYPE>} that declares
 * {@code <!ENTITY x SYSTEM "file:///etc/passwd">} has the file's content echoed in an error message,
 * and an {@code http://} entity would be fetched), follows {@code <file>} includes to other
 * configuration files (found as class-path resources or relative to the working directory) and
 * deserializes Java objects named by {@code <serialized>} elements, which can run code. So before
 * OLCUT sees the file it is parsed here with external entities and DTDs disabled, and refused with
 * an {@link IllegalArgumentException} naming the file and the line when it
 * <ul>
 *   <li>is larger than {@link #MAX_BYTES} or not well-formed XML,</li>
 *   <li>has a document type declaration (no configuration needs one; refusing it as it starts
 *       also stops entity expansion bombs; external entities and DTDs are disabled besides),</li>
 *   <li>has a {@code <file>} include or a {@code <serialized>} object.</li>
 * </ul>
 * Everything else OLCUT supports ({@code inherit}, property lists and maps, global properties)
 * is left to it.
 *
 * <p>{@link #open(Path, Map)} applies overrides, such as a command's {@code --set} options, to the
 * configuration OLCUT read, through OLCUT's own {@link ConfigurationManager#overrideConfigurableProperty}:
 * {@code COMPONENT.PROPERTY} → value sets a property (a list property takes comma-separated items,
 * as OLCUT's {@code --@} arguments do), {@code COMPONENT.MAP.KEY} → value one entry of a map
 * property (such as {@code architecture.attentionOptions.window}), keeping the others. An override
 * sets the component it names only: OLCUT copies the properties of an {@code inherit}ed component
 * when it reads the file, so a component that inherits from it keeps the file's values.
 */
public final class ConfigFiles {

    /** The largest configuration file accepted: far above any real configuration. */
    public static final long MAX_BYTES = 8L << 20;

    private ConfigFiles() {
    }

    /**
     * Checks {@code file} (see the class comment) and opens it with OLCUT.
     *
     * @throws IllegalArgumentException naming the file (and the line) when it is missing, unreadable or
     *                                  refused, or when OLCUT cannot load it (an unknown element, a bad
     *                                  component type)
     */
    public static ConfigurationManager open(Path file) {
        check(file);
        try {
            return new ConfigurationManager(file.toString());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("config " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks {@code file} (see the class comment), opens it with OLCUT and applies {@code overrides}
     * in their order: each key {@code COMPONENT.PROPERTY} or {@code COMPONENT.MAP.KEY} (a map
     * property's entry), each value as the file would write it. Values are parsed and checked (types,
     * ranges) when a component is looked up; {@link #overrideOf} names the override a failure concerns.
     *
     * @throws IllegalArgumentException naming the file and the override ({@code --set KEY=VALUE}) for a
     *                                  key that is not {@code COMPONENT.PROPERTY}, an unknown component
     *                                  or property (with the closest names), a map property set whole or
     *                                  an entry of a property that is not a map; and as {@link #open(Path)}
     */
    public static ConfigurationManager open(Path file, Map<String, String> overrides) {
        ConfigurationManager manager = open(file);
        overrides.forEach((target, value) -> override(manager, file, target, value));
        return manager;
    }

    /**
     * The override that {@code failure}, thrown by OLCUT when it configured a component (or by the
     * component's own checks), concerns: the first of {@code overrides} whose property, or map entry,
     * is the property an OLCUT {@link PropertyException} in the chain of causes names, as
     * {@code --set KEY=VALUE}.
     */
    public static Optional<String> overrideOf(Throwable failure, Map<String, String> overrides) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PropertyException e && e.getProperty() != null && !e.getProperty().isEmpty()) {
                String property = "." + e.getProperty();
                Optional<String> target = overrides.keySet().stream()
                        .filter(k -> k.endsWith(property) || k.contains(property + ".")).findFirst();
                if (target.isPresent()) {
                    return Optional.of(describe(target.get(), overrides.get(target.get())));
                }
            }
        }
        return Optional.empty();
    }

    private static String describe(String target, String value) {
        return "--set " + target + "=" + value;
    }

    /** Applies the override {@code target} = {@code value} to {@code manager}; see {@link #open(Path, Map)}. */
    private static void override(ConfigurationManager manager, Path file, String target, String value) {
        String where = "config " + file + ": " + describe(target, value) + ": ";
        String component = manager.getComponentNames().stream()
                .filter(name -> target.startsWith(name + ".") && target.length() > name.length() + 1)
                .max((a, b) -> Integer.compare(a.length(), b.length()))
                .orElse(null);
        if (component == null) {
            int dot = target.indexOf('.');
            if (dot <= 0 || dot == target.length() - 1) {
                throw new IllegalArgumentException(where + "expected COMPONENT.PROPERTY=VALUE or "
                        + "COMPONENT.PROPERTY.KEY=VALUE (a map entry)");
            }
            throw new IllegalArgumentException(where + Suggestions.unknownName("component",
                    target.substring(0, dot), manager.getComponentNames()));
        }
        String rest = target.substring(component.length() + 1);
        int dot = rest.indexOf('.');
        String property = dot < 0 ? rest : rest.substring(0, dot);
        String key = dot < 0 ? null : rest.substring(dot + 1);
        ConfigurationData data = manager.getConfigurationData(component).orElseThrow();
        Map<String, Field> fields = configFields(data.getClassName(), where);
        Field field = fields.get(property);
        if (field == null) {
            List<String> close = Suggestions.closest(property, fields.keySet());
            throw new IllegalArgumentException(where + component + " (" + simpleName(data.getClassName())
                    + ") has no property '" + property + "'; " + (close.isEmpty()
                    ? "its properties: " + String.join(", ", fields.keySet())
                    : "did you mean: " + String.join(", ", close) + "?"));
        }
        boolean map = Map.class.isAssignableFrom(field.getType());
        if (map && (key == null || key.isEmpty())) {
            throw new IllegalArgumentException(where + property + " is a map: set one entry with --set "
                    + component + "." + property + ".KEY=VALUE");
        }
        if (!map && key != null) {
            throw new IllegalArgumentException(where + property + " of " + component + " is not a map; set it with "
                    + "--set " + component + "." + property + "=VALUE");
        }
        try {
            if (map) {
                Map<String, SimpleProperty> entries = new LinkedHashMap<>();
                data.get(property).filter(MapProperty.class::isInstance)
                        .ifPresent(p -> entries.putAll(((MapProperty) p).getMap()));
                entries.put(key, new SimpleProperty(value));
                manager.overrideConfigurableProperty(component, property, new MapProperty(entries));
            } else if (field.getType().isArray() || Collection.class.isAssignableFrom(field.getType())) {
                manager.overrideConfigurableProperty(component, property,
                        ListProperty.createFromStringList(ConfigurationManager.parseStringList(value)));
            } else {
                manager.overrideConfigurableProperty(component, property, new SimpleProperty(value));
            }
        } catch (PropertyException e) {
            throw new IllegalArgumentException(where + e.getMsg(), e);
        }
    }

    /**
     * The {@code @Config} fields of the class {@code className} (and its superclasses) by name, the
     * class loaded as OLCUT loads it (inside an OSGi host, through the Tribuo bundle, which imports
     * every exported package).
     */
    private static Map<String, Field> configFields(String className, String where) {
        Class<?> type;
        try {
            type = Class.forName(className, false, ConfigurationManager.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException(where + "the component's type " + className + " cannot be loaded", e);
        }
        Map<String, Field> fields = new LinkedHashMap<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (f.isAnnotationPresent(Config.class) && !Modifier.isStatic(f.getModifiers())) {
                    fields.putIfAbsent(f.getName(), f);
                }
            }
        }
        return fields;
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /**
     * Checks {@code file} without opening it with OLCUT.
     *
     * @throws IllegalArgumentException naming the file (and the line) when it is missing, unreadable or refused
     */
    public static void check(Path file) {
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("config " + file + ": no such file");
            }
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new IllegalArgumentException("config " + file + ": " + size + " bytes, more than the "
                        + MAX_BYTES + " a configuration may have");
            }
            try (InputStream in = Files.newInputStream(file)) {
                SAXParser parser = parser();
                Screen screen = new Screen();
                parser.setProperty("http://xml.org/sax/properties/lexical-handler", screen);
                parser.parse(in, screen);
            }
        } catch (SAXParseException e) {
            throw new IllegalArgumentException("config " + file + " line " + e.getLineNumber() + ": " + e.getMessage(), e);
        } catch (SAXException | IOException e) {
            throw new IllegalArgumentException("config " + file + ": " + e.getMessage(), e);
        }
    }

    private static SAXParser parser() throws SAXException {
        try {
            SAXParserFactory factory = SAXParserFactory.newInstance();
            factory.setNamespaceAware(false);
            factory.setXIncludeAware(false);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
            factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            return factory.newSAXParser();
        } catch (ParserConfigurationException e) {
            throw new SAXException("no secure XML parser available: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a document type declaration as soon as it starts (before its internal subset declares
     * anything) and the elements that make OLCUT read other files or deserialize objects.
     */
    private static final class Screen extends DefaultHandler2 {

        private Locator locator;

        @Override
        public void setDocumentLocator(Locator locator) {
            this.locator = locator;
        }

        @Override
        public void startDTD(String name, String publicId, String systemId) throws SAXException {
            throw new SAXParseException("a <!DOCTYPE> is refused: a configuration needs none, and its entities "
                    + "could read other files or addresses", locator);
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes)
                throws SAXException {
            switch (qName) {
                case "file" -> throw new SAXParseException("<file> includes of other configuration files are refused "
                        + "(the included file would not be checked); put its components in this file", locator);
                case "serialized" -> throw new SAXParseException("<serialized> objects are refused (deserializing "
                        + "Java objects from a file can run code)", locator);
                default -> {
                }
            }
        }
    }
}
