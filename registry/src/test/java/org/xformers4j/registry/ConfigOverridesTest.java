package org.xformers4j.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.registry.fixture.Settings;

/** {@link ConfigFiles#open(Path, Map)}: overrides of a configuration, as a command's {@code --set} gives them. */
class ConfigOverridesTest {

    private static final String TYPE = Settings.class.getName();

    /** Two components, one inheriting from the other, and a component whose name holds a dot. */
    private static final String XML = """
            <?xml version="1.0"?>
            <config>
                <component name="base" type="%1$s">
                    <property name="count" value="5"/>
                    <propertymap name="options">
                        <entry key="a" value="1"/>
                    </propertymap>
                    <propertylist name="names">
                        <item>x</item>
                    </propertylist>
                    <property name="next" value="next"/>
                </component>
                <component name="child" inherit="base">
                    <property name="mode" value="CAREFUL"/>
                </component>
                <component name="v1.2" type="%1$s"/>
                <component name="next" type="%1$s$Next"/>
            </config>
            """.formatted(TYPE);

    @TempDir
    Path dir;

    private Path file() throws IOException {
        return Files.writeString(dir.resolve("settings.xml"), XML);
    }

    private Settings lookup(String name, Map<String, String> overrides) throws IOException {
        try (ConfigurationManager manager = ConfigFiles.open(file(), overrides)) {
            return (Settings) manager.lookup(name);
        }
    }

    private static Map<String, String> overrides(String... keysAndValues) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            out.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return out;
    }

    @Test
    void anOverrideSetsAPropertyTheFileGivesOrLeavesOut() throws IOException {
        Settings plain = lookup("base", Map.of());
        assertThat(plain.count()).isEqualTo(5);
        assertThat(plain.mode()).isEqualTo(Settings.Mode.FAST);

        Settings set = lookup("base", overrides("base.count", "7", "base.mode", "CAREFUL", "next.rate", "0.25"));
        assertThat(set.count()).isEqualTo(7);
        assertThat(set.mode()).isEqualTo(Settings.Mode.CAREFUL);
        assertThat(set.next().rate()).isEqualTo(0.25);
    }

    @Test
    void aMapEntryIsSetOrAddedKeepingTheOthers() throws IOException {
        assertThat(lookup("base", overrides("base.options.b", "2")).options()).containsExactly(
                Map.entry("a", "1"), Map.entry("b", "2"));
        assertThat(lookup("base", overrides("base.options.a", "9")).options()).containsExactly(Map.entry("a", "9"));
        assertThat(lookup("v1.2", overrides("v1.2.options.a.b", "3")).options()).containsExactly(
                Map.entry("a.b", "3"));
    }

    @Test
    void aListTakesCommaSeparatedItems() throws IOException {
        assertThat(lookup("base", overrides("base.names", "p,q,r")).names()).containsExactly("p", "q", "r");
        assertThat(lookup("base", overrides("base.names", "one")).names()).containsExactly("one");
    }

    @Test
    void theComponentIsTheLongestNameTheKeyStartsWith() throws IOException {
        assertThat(lookup("v1.2", overrides("v1.2.count", "11")).count()).isEqualTo(11);
    }

    @Test
    void anOverrideSetsTheComponentItNamesNotThoseInheritingFromIt() throws IOException {
        Map<String, String> set = overrides("base.count", "8");
        assertThat(lookup("base", set).count()).isEqualTo(8);
        assertThat(lookup("child", set).count()).isEqualTo(5);
        assertThat(lookup("child", overrides("child.count", "9")).count()).isEqualTo(9);
    }

    @Test
    void unknownComponentsAndPropertiesAreNamedWithTheClosestNames() throws IOException {
        Path file = file();
        assertThatThrownBy(() -> ConfigFiles.open(file, overrides("bsae.count", "1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("config " + file + ": --set bsae.count=1: unknown component 'bsae'; did you mean: base?");
        assertThatThrownBy(() -> ConfigFiles.open(file, overrides("base.cuont", "1")))
                .hasMessage("config " + file + ": --set base.cuont=1: base (Settings) has no property 'cuont'; "
                        + "did you mean: count?");
        assertThatThrownBy(() -> ConfigFiles.open(file, overrides("base.zzzzzzzzzzzz", "1")))
                .hasMessageEndingWith("has no property 'zzzzzzzzzzzz'; its properties: count, mode, options, names, "
                        + "next, label");
    }

    @Test
    void aKeyWithoutComponentAndPropertyIsRefused() throws IOException {
        Path file = file();
        for (String key : List.of("count", ".count", "base.")) {
            assertThatThrownBy(() -> ConfigFiles.open(file, overrides(key, "1")))
                    .as(key).hasMessage("config " + file + ": --set " + key + "=1: expected COMPONENT.PROPERTY=VALUE "
                            + "or COMPONENT.PROPERTY.KEY=VALUE (a map entry)");
        }
    }

    @Test
    void aMapIsSetByItsEntriesAndOnlyAMapHasEntries() throws IOException {
        Path file = file();
        assertThatThrownBy(() -> ConfigFiles.open(file, overrides("base.options", "a=1")))
                .hasMessageEndingWith("--set base.options=a=1: options is a map: set one entry with "
                        + "--set base.options.KEY=VALUE");
        assertThatThrownBy(() -> ConfigFiles.open(file, overrides("base.count.a", "1")))
                .hasMessageEndingWith("--set base.count.a=1: count of base is not a map; set it with "
                        + "--set base.count=VALUE");
    }

    @Test
    void aValueRefusedWhenConfiguredIsTracedToItsOverride() throws IOException {
        Map<String, String> set = overrides("base.mode", "CAREFUL", "base.count", "0");
        assertThatThrownBy(() -> lookup("base", set)).satisfies(e ->
                assertThat(ConfigFiles.overrideOf(e, set)).contains("--set base.count=0"));
        Map<String, String> text = overrides("base.count", "many");
        assertThatThrownBy(() -> lookup("base", text)).satisfies(e ->
                assertThat(ConfigFiles.overrideOf(e, text)).contains("--set base.count=many"));
        Map<String, String> entry = overrides("base.options.b", "2");
        assertThatThrownBy(() -> {
            throw new com.oracle.labs.mlrg.olcut.config.PropertyException("some-component", "b", "bad option");
        }).satisfies(e -> assertThat(ConfigFiles.overrideOf(e, entry)).contains("--set base.options.b=2"));
        assertThatThrownBy(() -> lookup("base", overrides("base.count", "0"))).satisfies(e ->
                assertThat(ConfigFiles.overrideOf(e, overrides("base.mode", "FAST"))).isEmpty());
    }
}
