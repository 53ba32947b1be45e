package org.xformers4j.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;

/** OsgiHost on tiny bundles written by the test; the real bundles are exercised in it/tests. */
class OsgiHostTest {

    @TempDir
    Path dir;

    /** Writes a jar holding only a manifest with these headers (name, value pairs). */
    private Path bundle(String file, String... headers) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue(Constants.BUNDLE_MANIFESTVERSION, "2");
        for (int i = 0; i < headers.length; i += 2) {
            main.putValue(headers[i], headers[i + 1]);
        }
        Path jar = dir.resolve(file);
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream ignored = new JarOutputStream(os, manifest)) {
            return jar;
        }
    }

    @Test
    void missingOrEmptyDirectoryIsAClearError() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> OsgiHost.start(missing))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist")
                .hasMessageContaining("-D" + OsgiHost.BUNDLES_PROPERTY);
        assertThatThrownBy(() -> OsgiHost.start(dir))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no *.jar");
    }

    @Test
    void aFrameworkMissingFromTheClassPathIsNamedWithItsArtifact() throws IOException {
        bundle("a.jar", Constants.BUNDLE_SYMBOLICNAME, "test.a");
        // The host's class path holds Felix only; the integration tests add Equinox.
        assertThatThrownBy(() -> OsgiHost.start(dir, OsgiFramework.EQUINOX))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no EQUINOX framework on the class path (org.eclipse.platform:org.eclipse.osgi)");
    }

    @Test
    void unresolvedBundlesAreListedWithTheirMissingRequirement() throws IOException {
        bundle("a.jar", Constants.BUNDLE_SYMBOLICNAME, "test.good", Constants.EXPORT_PACKAGE, "test.good");
        bundle("b.jar", Constants.BUNDLE_SYMBOLICNAME, "test.needy", Constants.IMPORT_PACKAGE, "test.good, test.absent");
        bundle("c.jar", Constants.BUNDLE_SYMBOLICNAME, "test.lonely", Constants.REQUIRE_BUNDLE, "test.nobody");
        assertThatThrownBy(() -> OsgiHost.start(dir))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("2 bundle(s) in " + dir + " did not resolve")
                .hasMessageContaining("test.needy").hasMessageContaining("osgi.wiring.package=test.absent")
                .hasMessageContaining("test.lonely").hasMessageContaining("test.nobody")
                .hasMessageNotContaining("test.good ");
    }

    @Test
    void startsBundlesButNotFragmentsServesServicesAndCleansUp() throws Exception {
        bundle("host.jar", Constants.BUNDLE_SYMBOLICNAME, "test.host");
        bundle("fragment.jar", Constants.BUNDLE_SYMBOLICNAME, "test.fragment", Constants.FRAGMENT_HOST, "test.host");
        Path storage;
        try (OsgiHost host = OsgiHost.start(dir)) {
            storage = Path.of(host.context().getProperty(Constants.FRAMEWORK_STORAGE));
            assertThat(storage).isDirectory();
            assertThat(host.bundles()).extracting(Bundle::getSymbolicName).containsExactly("test.fragment", "test.host");
            assertThat(host.bundle("test.host").orElseThrow().getState()).isEqualTo(Bundle.ACTIVE);
            assertThat(host.bundle("test.fragment").orElseThrow().getState()).isEqualTo(Bundle.RESOLVED);
            assertThat(host.bundle("test.other")).isEmpty();

            Supplier<String> hello = () -> "hello";
            host.context().registerService(Supplier.class, hello, null);
            assertThat(host.waitForService(Supplier.class, Duration.ofSeconds(30)).get()).isEqualTo("hello");
            assertThat(host.serviceReferences("(objectClass=" + Supplier.class.getName() + ")")).hasSize(1);
            assertThatThrownBy(() -> host.waitForService(Runnable.class, Duration.ofMillis(50)))
                    .isInstanceOf(TimeoutException.class).hasMessageContaining("objectClass=java.lang.Runnable");
            assertThatThrownBy(() -> host.serviceReferences("(objectClass="))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad service filter");
        }
        assertThat(storage).doesNotExist();
    }

    @Test
    void bundlesDirectoryComesFromThePropertyOrSitsBesideTheHostClasses() {
        String before = System.getProperty(OsgiHost.BUNDLES_PROPERTY);
        try {
            System.setProperty(OsgiHost.BUNDLES_PROPERTY, dir.toString());
            assertThat(OsgiHost.defaultBundlesDirectory()).isEqualTo(dir);
            System.clearProperty(OsgiHost.BUNDLES_PROPERTY);
            // Under Maven the host's classes are target/classes, so this is target/bundles.
            assertThat(OsgiHost.defaultBundlesDirectory()).endsWithRaw(Path.of("target", "bundles"));
        } finally {
            if (before != null) {
                System.setProperty(OsgiHost.BUNDLES_PROPERTY, before);
            }
        }
    }
}
