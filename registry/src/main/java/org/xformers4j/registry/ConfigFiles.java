package org.xformers4j.registry;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.Attributes;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.ext.DefaultHandler2;

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
