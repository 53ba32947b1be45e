package org.xformers4j.it.karaf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Constants;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.host.OsgiHost;
import org.xformers4j.registry.ComponentRegistry;

/**
 * it/karaf's {@code features.xml} in Apache Karaf: the minimal distribution from Maven Central (unpacked
 * by the build into {@code target/karaf}) is copied, configured as the README says (the feature
 * repository, {@code jdk.incubator.vector} in {@code org.osgi.framework.system.packages.extra}, the JVM
 * flag) and started with {@code xformers4j} as a boot feature, which is what
 * {@code feature:install xformers4j} does. A small bundle ({@link RegistryReport}) reports what the
 * {@code ComponentRegistry} service holds: every component of the standalone registry, and the CPU
 * backend on its SIMD kernels.
 *
 * <p>The feature's own bundles come from the Maven repository it/karaf lays out (copied into Karaf's
 * {@code system/} folder, as a custom distribution would hold them); Karaf's {@code scr} feature from
 * the build's local Maven repository, or Maven Central when it is not there yet.
 */
class KarafFeatureTest {

    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(3);
    /** The Declarative Services bundles the launcher installs itself and Karaf's scr feature provides. */
    private static final Pattern DECLARATIVE_SERVICES = Pattern.compile(
            "org\\.apache\\.felix\\.scr|org\\.osgi\\.service\\.component|org\\.osgi\\.util\\.(promise|function)");
    private static final Pattern MAVEN_URL = Pattern.compile("mvn:([^/]+)/([^/]+)/([^/]+)");

    private static Path property(String name) {
        String value = System.getProperty(name);
        assertThat(value).as("system property " + name + " (set by the it/tests build)").isNotBlank();
        return Path.of(value);
    }

    private static Document features() throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(property("xformers4j.karaf.features").toFile());
    }

    /** The text of every {@code element}, or of those without a {@code name} attribute (references, not definitions). */
    private static List<String> texts(Document document, String element, boolean referencesOnly) {
        NodeList nodes = document.getElementsByTagNameNS("*", element);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (!referencesOnly || ((Element) nodes.item(i)).getAttribute("name").isEmpty()) {
                texts.add(nodes.item(i).getTextContent().trim());
            }
        }
        return texts;
    }

    @Test
    void theFeatureInstallsTheBundlesOfTheLauncherWithKarafsDeclarativeServices() throws Exception {
        Document features = features();
        List<String> jars = new ArrayList<>();
        for (String url : texts(features, "bundle", false)) {
            Matcher m = MAVEN_URL.matcher(url);
            assertThat(m.matches()).as(url).isTrue();
            jars.add(m.group(2) + "-" + m.group(3) + ".jar");
        }
        List<String> launcherBundles;
        try (Stream<Path> files = Files.list(OsgiHost.defaultBundlesDirectory())) {
            launcherBundles = files.map(p -> p.getFileName().toString())
                    .filter(name -> !DECLARATIVE_SERVICES.matcher(name).lookingAt()).toList();
        }
        assertThat(jars).containsExactlyInAnyOrderElementsOf(launcherBundles);
        assertThat(texts(features, "feature", true)).containsExactly("scr");
    }

    @Test
    void bootingKarafWithTheFeatureActivatesTheRegistryWithEveryComponent(@TempDir Path dir) throws Exception {
        Path karaf = dir.resolve("karaf");
        copyTree(property("xformers4j.karaf.home"), karaf);
        copyTree(property("xformers4j.karaf.repository"), karaf.resolve("system"));
        String version = System.getProperty("xformers4j.version");
        Path featuresArtifact = karaf.resolve("system/org/xformers4j/xformers4j-karaf/" + version
                + "/xformers4j-karaf-" + version + "-features.xml");
        Files.createDirectories(featuresArtifact.getParent());
        Files.copy(property("xformers4j.karaf.features"), featuresArtifact);
        Path reportFeatures = reportFeature(dir);
        configure(karaf, "org.apache.karaf.features.cfg", Map.of(
                // The features of xformers4j and of the report bundle, booted with Karaf's own.
                "(featuresRepositories\\s*=\\s*\\\\\\n)", "$1" + Matcher.quoteReplacement("    mvn:org.xformers4j/xformers4j-karaf/"
                        + version + "/xml/features, \\\n    " + reportFeatures.toUri() + ", \\\n"),
                "(featuresBoot\\s*=\\s*\\\\\\n)", "$1    xformers4j, \\\\\n    xformers4j-registry-report, \\\\\n",
                // No SSH server: nothing listens on a port.
                "\\n\\s*ssh/[^,\\n]*,[^\\n]*", ""));
        configure(karaf, "config.properties", Map.of(
                "(org\\.osgi\\.framework\\.system\\.packages\\.extra\\s*=\\s*\\\\\\n)", "$1    jdk.incubator.vector, \\\\\n"));
        configure(karaf, "org.ops4j.pax.url.mvn.cfg", Map.of(
                // The build's local repository; of the remote ones Maven Central only.
                "(org\\.ops4j\\.pax\\.url\\.mvn\\.repositories\\s*=)(?:[^\\n]*\\\\\\n)*[^\\n]*", "$1 https://repo1.maven.org/maven2@id=central",
                "\\z", Matcher.quoteReplacement("\norg.ops4j.pax.url.mvn.localRepository="
                        + property("xformers4j.karaf.localRepository") + "\n")));

        Path report = dir.resolve("registry-report.txt");
        List<String> lines = boot(karaf, report, dir.resolve("karaf-console.log"));

        ComponentRegistry standalone = ComponentRegistry.standalone();
        assertThat(lines.stream().filter(l -> l.startsWith("component "))).containsExactlyInAnyOrderElementsOf(
                standalone.providers().stream().map(KarafFeatureTest::componentLine).toList());
        assertThat(lines.stream().filter(l -> l.startsWith("backend cpu "))).singleElement().asString()
                .startsWith("backend cpu true cpu: ").endsWith(", GEMM simd");
    }

    private static String componentLine(ComponentProvider<?> provider) {
        return "component " + provider.descriptor().name() + " " + provider.descriptor().kind();
    }

    /**
     * Starts Karaf in server mode with the Vector API, waits until the report lists every component
     * of the standalone registry, stops Karaf and returns the report's lines.
     */
    private static List<String> boot(Path karaf, Path report, Path console) throws Exception {
        int expected = ComponentRegistry.standalone().providers().size();
        ProcessBuilder builder = new ProcessBuilder("sh", karaf.resolve("bin/karaf").toString(), "server")
                .redirectErrorStream(true).redirectOutput(console.toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("EXTRA_JAVA_OPTS", "--add-modules jdk.incubator.vector -D"
                + RegistryReport.REPORT_PROPERTY + "=" + report);
        Process process = builder.start();
        try {
            Instant deadline = Instant.now().plus(BOOT_TIMEOUT);
            while (Instant.now().isBefore(deadline)) {
                if (Files.exists(report)) {
                    List<String> lines = Files.readAllLines(report, StandardCharsets.UTF_8);
                    if (lines.stream().filter(l -> l.startsWith("component ")).count() >= expected) {
                        return lines;
                    }
                }
                if (!process.isAlive()) {
                    fail("Karaf exited with code " + process.exitValue() + ":\n" + diagnostics(karaf, console));
                }
                Thread.sleep(500);
            }
            fail("the registry did not report " + expected + " components within " + BOOT_TIMEOUT + "; report: "
                    + (Files.exists(report) ? Files.readAllLines(report) : "none") + "\n" + diagnostics(karaf, console));
            throw new AssertionError("unreachable");
        } finally {
            stop(process);
        }
    }

    /** Stops the script and Karaf's JVM (its child), waiting for both so that nothing writes to the directory after. */
    private static void stop(Process process) throws InterruptedException {
        List<ProcessHandle> processes = new ArrayList<>(process.descendants().toList());
        processes.add(process.toHandle());
        processes.forEach(ProcessHandle::destroy);
        for (ProcessHandle handle : processes) {
            try {
                handle.onExit().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                handle.destroyForcibly();
                handle.onExit().join();
            }
        }
    }

    /** The console output and the end of Karaf's log. */
    private static String diagnostics(Path karaf, Path console) throws IOException {
        Path log = karaf.resolve("data/log/karaf.log");
        List<String> logLines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return "console:\n" + Files.readString(console) + "\nkaraf.log (end):\n"
                + String.join("\n", logLines.subList(Math.max(0, logLines.size() - 60), logLines.size()));
    }

    /** A features repository with the feature {@code xformers4j-registry-report}: the {@link RegistryReport} bundle. */
    private static Path reportFeature(Path dir) throws IOException, URISyntaxException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue(Constants.BUNDLE_MANIFESTVERSION, "2");
        main.putValue(Constants.BUNDLE_SYMBOLICNAME, "org.xformers4j.it.karaf.report");
        main.putValue(Constants.BUNDLE_VERSION, "1.0.0");
        main.putValue(Constants.BUNDLE_ACTIVATOR, RegistryReport.class.getName());
        main.putValue(Constants.IMPORT_PACKAGE, "org.osgi.framework, org.osgi.util.tracker, org.xformers4j.component,"
                + " org.xformers4j.compute, org.xformers4j.registry");
        Path jar = dir.resolve("registry-report.jar");
        Path classes = Path.of(RegistryReport.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String packagePath = RegistryReport.class.getPackageName().replace('.', '/');
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out, manifest);
             Stream<Path> files = Files.list(classes.resolve(packagePath))) {
            for (Path file : files.filter(f -> f.getFileName().toString().startsWith(RegistryReport.class.getSimpleName()))
                    .toList()) {
                zip.putNextEntry(new JarEntry(packagePath + "/" + file.getFileName()));
                zip.write(Files.readAllBytes(file));
                zip.closeEntry();
            }
        }
        return Files.writeString(dir.resolve("registry-report-features.xml"), """
                <features name="xformers4j-it" xmlns="http://karaf.apache.org/xmlns/features/v1.6.0">
                    <feature name="xformers4j-registry-report" version="1.0.0">
                        <bundle>%s</bundle>
                    </feature>
                </features>
                """.formatted(jar.toUri()));
    }

    /** Applies regular-expression replacements to a file of Karaf's {@code etc/}, failing when one matches nothing. */
    private static void configure(Path karaf, String file, Map<String, String> replacements) throws IOException {
        Path path = karaf.resolve("etc").resolve(file);
        String text = Files.readString(path);
        for (Map.Entry<String, String> r : replacements.entrySet()) {
            Matcher m = Pattern.compile(r.getKey()).matcher(text);
            assertThat(m.find()).as(file + " has " + r.getKey()).isTrue();
            text = m.replaceFirst(r.getValue());
        }
        Files.writeString(path, text);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> tree = Files.walk(from)) {
            for (Path source : tree.toList()) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
