package org.xformers4j.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFilesTest {

    private static final String SECRET = "secret-content-7f3a";

    @TempDir
    Path dir;

    private Path config(String xml) throws IOException {
        return Files.writeString(dir.resolve("config.xml"), xml);
    }

    private static final String COMPONENT = "<component name=\"a\" type=\"" + Fixture.class.getName() + "\">"
            + "<property name=\"value\" value=\"%s\"/></component>";

    @Test
    void anOrdinaryConfigurationOpens() throws IOException {
        Path file = config("<?xml version=\"1.0\"?><config>" + COMPONENT.formatted("3") + "</config>");
        try (ConfigurationManager manager = ConfigFiles.open(file)) {
            assertThat(((Fixture) manager.lookup("a")).value).isEqualTo(3);
        }
    }

    @Test
    void anExternalEntityIsRefusedAndItsContentNeverShown() throws IOException {
        Path secret = Files.writeString(dir.resolve("secret.txt"), SECRET);
        Path file = config("<?xml version=\"1.0\"?><!DOCTYPE config [<!ENTITY x SYSTEM \"" + secret.toUri() + "\">]>"
                + "<config>" + COMPONENT.formatted("&x;") + "</config>");
        assertThatThrownBy(() -> ConfigFiles.open(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("line 1").hasMessageContaining("DOCTYPE")
                .satisfies(e -> assertThat(chain(e)).doesNotContain(SECRET));
    }

    @Test
    void aParameterEntityAndAnEntityBombAreRefusedBeforeExpansion() throws IOException {
        Path remote = config("<?xml version=\"1.0\"?><!DOCTYPE config [<!ENTITY % p SYSTEM \"http://127.0.0.1:9/x.dtd\"> %p;]>"
                + "<config/>");
        assertThatThrownBy(() -> ConfigFiles.check(remote)).hasMessageContaining("DOCTYPE");
        StringBuilder bomb = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE config [<!ENTITY a0 \"lol\">");
        for (int i = 1; i < 10; i++) {
            bomb.append("<!ENTITY a").append(i).append(" \"").append(("&a" + (i - 1) + ";").repeat(10)).append("\">");
        }
        Path file = config(bomb.append("]><config>").append(COMPONENT.formatted("&a9;")).append("</config>").toString());
        assertThatThrownBy(() -> ConfigFiles.open(file)).hasMessageContaining("DOCTYPE");
    }

    @Test
    void includesAndSerializedObjectsAreRefusedNamingTheLine() throws IOException {
        Path include = config("<?xml version=\"1.0\"?>\n<config>\n<file name=\"other\" value=\"/etc/other.xml\"/>\n</config>");
        assertThatThrownBy(() -> ConfigFiles.open(include)).hasMessageContaining("line 3").hasMessageContaining("<file>");
        Path serialized = config("<?xml version=\"1.0\"?><config><serialized name=\"s\" type=\"java.lang.Object\" "
                + "location=\"/tmp/x.ser\"/></config>");
        assertThatThrownBy(() -> ConfigFiles.open(serialized)).hasMessageContaining("<serialized>");
    }

    @Test
    void missingMalformedAndHugeFilesAreNamed() throws IOException {
        Path missing = dir.resolve("missing.xml");
        assertThatThrownBy(() -> ConfigFiles.open(missing)).hasMessage("config " + missing + ": no such file");
        Path malformed = config("<config><component name=\"a\"></config>");
        assertThatThrownBy(() -> ConfigFiles.open(malformed)).hasMessageContaining(malformed.toString())
                .hasMessageContaining("line 1");
        Path huge = dir.resolve("huge.xml");
        try (OutputStream out = Files.newOutputStream(huge)) {
            out.write("<config>".getBytes());
            byte[] spaces = new byte[1 << 20];
            java.util.Arrays.fill(spaces, (byte) ' ');
            for (int i = 0; i <= ConfigFiles.MAX_BYTES >> 20; i++) {
                out.write(spaces);
            }
            out.write("</config>".getBytes());
        }
        assertThatThrownBy(() -> ConfigFiles.open(huge)).hasMessageContaining(huge.toString())
                .hasMessageContaining("more than the " + ConfigFiles.MAX_BYTES);
    }

    private static String chain(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            out.append(t).append('\n');
        }
        return out.toString();
    }

    /** A configurable with one integer property. */
    public static final class Fixture implements com.oracle.labs.mlrg.olcut.config.Configurable {
        @com.oracle.labs.mlrg.olcut.config.Config(description = "a value")
        int value;
    }
}
