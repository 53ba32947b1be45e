package org.xformers4j.component;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Checks that a bundle module registers each of its components both ways a host finds them, with
 * no hand-written list to keep in step: the Declarative Services descriptions bnd generated into
 * {@code target/classes/OSGI-INF} (what an OSGi framework sees), the {@code META-INF/services}
 * entries {@link ServiceLoader} reads (what a plain class path sees), and the classes annotated
 * with {@link ComponentInfo} in {@code target/classes} (every component must have a provider).
 *
 * <pre>{@code
 * ProviderRegistrations.of(Path.of("target/classes")).assertConsistent();
 * }</pre>
 */
public final class ProviderRegistrations {

    private static final String PROVIDER_SERVICE = ComponentProvider.class.getName();

    private final Path classes;

    private ProviderRegistrations(Path classes) {
        this.classes = classes;
    }

    /** The registrations of the module compiled into {@code classes}. */
    public static ProviderRegistrations of(Path classes) {
        return new ProviderRegistrations(classes);
    }

    /**
     * Asserts that the providers of the DS descriptions and of ServiceLoader (those in this module)
     * are the same classes, that each provider's component is annotated with {@link ComponentInfo},
     * and that every concrete {@link ComponentInfo} class of the module has a provider; returns the
     * component names by provider class, for a caller that wants to check more.
     */
    public Map<String, String> assertConsistent() throws IOException {
        TreeSet<String> declarative = declarativeProviders();
        TreeSet<String> serviceLoader = serviceLoaderProviders();
        assertThat(declarative).as("DS component descriptions in %s/OSGI-INF", classes).isNotEmpty();
        assertThat(serviceLoader).as("META-INF/services providers compiled into %s", classes)
                .isEqualTo(declarative);
        Map<String, String> names = new TreeMap<>();
        TreeSet<String> provided = new TreeSet<>();
        for (ServiceLoader.Provider<ComponentProvider> p : loader()) {
            if (serviceLoader.contains(p.type().getName())) {
                ComponentProvider<?> provider = p.get();
                assertThat(provider.type()).as("the component of %s", p.type().getName())
                        .hasAnnotation(ComponentInfo.class);
                provided.add(provider.type().getName());
                names.put(p.type().getName(), provider.descriptor().name());
            }
        }
        assertThat(provided).as("components with a provider").isEqualTo(annotatedComponents());
        return names;
    }

    /** The implementation classes of the DS components that provide {@link ComponentProvider}. */
    private TreeSet<String> declarativeProviders() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        Path dir = classes.resolve("OSGI-INF");
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".xml")).toList()) {
                Document doc = parse(file);
                NodeList provides = doc.getElementsByTagName("provide");
                boolean providesProvider = false;
                for (int i = 0; i < provides.getLength(); i++) {
                    providesProvider |= PROVIDER_SERVICE.equals(((Element) provides.item(i)).getAttribute("interface"));
                }
                NodeList implementation = doc.getElementsByTagName("implementation");
                if (providesProvider && implementation.getLength() == 1) {
                    out.add(((Element) implementation.item(0)).getAttribute("class"));
                }
            }
        }
        return out;
    }

    private static Document parse(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return factory.newDocumentBuilder().parse(in);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The ServiceLoader providers whose class files are in this module's {@code classes}. */
    private TreeSet<String> serviceLoaderProviders() {
        TreeSet<String> out = new TreeSet<>();
        for (ServiceLoader.Provider<ComponentProvider> p : loader()) {
            if (inModule(p.type().getName())) {
                out.add(p.type().getName());
            }
        }
        return out;
    }

    @SuppressWarnings("rawtypes") // ServiceLoader is keyed by the raw class literal ComponentProvider.class
    private static List<ServiceLoader.Provider<ComponentProvider>> loader() {
        return ServiceLoader.load(ComponentProvider.class).stream().toList();
    }

    /** The concrete classes of this module annotated with {@link ComponentInfo}. */
    private TreeSet<String> annotatedComponents() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        List<Path> classFiles = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            files.filter(f -> f.toString().endsWith(".class"))
                    .filter(f -> !f.getFileName().toString().matches("(package|module)-info\\.class"))
                    .forEach(classFiles::add);
        }
        for (Path file : classFiles) {
            String name = className(file);
            Class<?> type;
            try {
                type = Class.forName(name, false, ProviderRegistrations.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new IOException("cannot load " + name + " from " + file, e);
            }
            if (type.isAnnotationPresent(ComponentInfo.class) && !Modifier.isAbstract(type.getModifiers())
                    && !type.isInterface()) {
                out.add(name);
            }
        }
        return out;
    }

    private boolean inModule(String className) {
        return Files.isRegularFile(classes.resolve(className.replace('.', '/') + ".class"));
    }

    private String className(Path classFile) {
        String relative = classes.relativize(classFile).toString().replace(classFile.getFileSystem().getSeparator(), ".");
        return relative.substring(0, relative.length() - ".class".length());
    }
}
