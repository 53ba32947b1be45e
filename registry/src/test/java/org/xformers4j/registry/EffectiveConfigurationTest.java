package org.xformers4j.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.fixture.Settings;

class EffectiveConfigurationTest {

    private static final String TYPE = Settings.class.getName();

    @TempDir
    Path dir;

    private String effective(Path file, String name, Map<String, String> overrides, String source) {
        try (ConfigurationManager manager = ConfigFiles.open(file, overrides)) {
            return EffectiveConfiguration.xml(manager, name, manager.lookup(name), source);
        }
    }

    @Test
    void everyPropertyOfTheComponentAndThoseItUsesIsWrittenDefaultsIncluded() throws IOException {
        Path file = Files.writeString(dir.resolve("a.xml"), """
                <config>
                    <component name="later" type="%1$s$Next"/>
                    <component name="main" type="%1$s">
                        <property name="count" value="5"/>
                        <property name="next" value="later"/>
                    </component>
                </config>
                """.formatted(TYPE));

        String xml = effective(file, "main", Map.of("main.options.k", "v", "main.names", "p,q"),
                "a.xml with main.count=5");

        assertThat(xml).isEqualTo("""
                <?xml version="1.0" encoding="UTF-8"?>
                <!-- The effective configuration of 'main': a.xml with main.count=5 -->
                <config>
                    <component name="main" type="%1$s">
                        <property name="count" value="5"/>
                        <property name="mode" value="FAST"/>
                        <propertymap name="options">
                            <entry key="k" value="v"/>
                        </propertymap>
                        <propertylist name="names">
                            <item>p</item>
                            <item>q</item>
                        </propertylist>
                        <property name="next" value="later"/>
                    </component>
                    <component name="later" type="%1$s$Next">
                        <property name="rate" value="0.5"/>
                    </component>
                </config>
                """.formatted(TYPE));
    }

    @Test
    void aDefaultConfigurableBecomesAComponentNamedAfterItsOwnerAndTheFileReadsBackTheSame() throws IOException {
        Path file = Files.writeString(dir.resolve("b.xml"), """
                <config>
                    <component name="main" type="%s">
                        <property name="label" value="a &lt;b&gt; &amp; &quot;c&quot;"/>
                        <propertymap name="options"/>
                    </component>
                </config>
                """.formatted(TYPE));

        String xml = effective(file, "main", Map.of("main.count", "9"), "b.xml");
        assertThat(xml).contains("<property name=\"next\" value=\"main-next\"/>")
                .contains("<component name=\"main-next\" type=\"" + TYPE + "$Next\">")
                .contains("<propertymap name=\"options\"/>");

        Path again = Files.writeString(dir.resolve("effective.xml"), xml);
        try (ConfigurationManager manager = ConfigFiles.open(again)) {
            Settings read = (Settings) manager.lookup("main");
            assertThat(read.count()).isEqualTo(9);
            assertThat(read.label()).isEqualTo("a <b> & \"c\"");
            assertThat(read.next().rate()).isEqualTo(0.5);
        }
        assertThat(effective(again, "main", Map.of(), "b.xml")).isEqualTo(xml);
    }

    @Test
    void theCommentHoldsNoDoubleDash() throws IOException {
        Path file = Files.writeString(dir.resolve("c.xml"), "<config><component name=\"m\" type=\"" + TYPE
                + "$Next\"/></config>");
        String xml = effective(file, "m", Map.of(), "c.xml with --set m.rate=1 -->");
        String comment = xml.substring(xml.indexOf("<!--") + 4, xml.indexOf("-->"));
        assertThat(comment).doesNotContain("--").contains("set m.rate=1");
        assertThat(xml).contains("<component name=\"m\"");
    }
}
