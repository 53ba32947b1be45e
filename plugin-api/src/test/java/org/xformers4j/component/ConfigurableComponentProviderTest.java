package org.xformers4j.component;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.attention.AttentionCapabilities;

class ConfigurableComponentProviderTest {

    private final ScaledIdentityAttention.Provider provider = new ScaledIdentityAttention.Provider();

    @Test
    void descriptorIsDerivedFromTheClass() {
        ComponentDescriptor d = provider.descriptor();
        assertThat(d.name()).isEqualTo("scaled-identity");
        assertThat(d.kind()).isEqualTo(ComponentKind.ATTENTION);
        assertThat(d.implementation()).isEqualTo(ScaledIdentityAttention.class.getName());
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name).containsExactly("factor", "rounding", "heads");
        Hyperparameter factor = d.hyperparameter("factor").orElseThrow();
        assertThat(factor.type()).isEqualTo("float");
        assertThat(factor.defaultValue()).isEqualTo("1.0");
        assertThat(factor.range()).isEqualTo("(0, 10]");
        assertThat(factor.description()).isEqualTo("Factor the values are multiplied by.");
        assertThat(d.hyperparameter("rounding").orElseThrow().choices()).containsExactly("NONE", "FLOOR");
        assertThat(d.hyperparameter("heads").orElseThrow().range()).isEqualTo("[0, +inf)");
        assertThat(d.capabilities(AttentionCapabilities.class).crossAttention()).isTrue();
        assertThat(d.capabilityMap()).containsEntry("causal", false).containsEntry("length", "NONE")
                .containsEntry("time", "O(N)");
    }

    @Test
    void createsFromStringOptionsWithDefaultsForTheRest() {
        ScaledIdentityAttention a = provider.create(Map.of("factor", "2.5"));
        assertThat(a.factor()).isEqualTo(2.5f);
        assertThat(a.rounding()).isEqualTo(ScaledIdentityAttention.Rounding.NONE);
        assertThat(provider.create(Map.of()).factor()).isEqualTo(1f);
        assertThat(provider.create(Map.of("rounding", "FLOOR", "factor", "3")).rounding())
                .isEqualTo(ScaledIdentityAttention.Rounding.FLOOR);
    }

    @Test
    void unknownOptionListsTheValidOnes() {
        assertThatThrownBy(() -> provider.create(Map.of("facter", "2")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("facter").hasMessageContaining("factor, rounding, heads");
    }

    @Test
    void outOfRangeValueNamesComponentFieldAndValue() {
        assertThatThrownBy(() -> provider.create(Map.of("factor", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("scaled-identity.factor = 0.0").hasMessageContaining("(0, 10]");
        assertThatThrownBy(() -> provider.create(Map.of("heads", "-1")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("heads = -1");
        assertThatThrownBy(() -> provider.create(Map.of("factor", "0.5", "rounding", "FLOOR")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("floors to 0");
    }

    @Test
    void booleanOptionsMustBeTrueOrFalse() {
        assertThatThrownBy(() -> new BooleanOptionFixture.Provider().create(Map.of("enabled", "maybe")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("flag.enabled = maybe is not a boolean");
        assertThat(new BooleanOptionFixture.Provider().create(Map.of("enabled", "TRUE")).enabled()).isTrue();
    }

    @Test
    void enumChoicesIgnoreCaseAndReadHyphensAsUnderscoresAndAWrongOneListsThem() {
        assertThat(provider.create(Map.of("rounding", "floor")).rounding()).isEqualTo(ScaledIdentityAttention.Rounding.FLOOR);
        assertThat(provider.create(Map.of("rounding", " Floor ")).rounding()).isEqualTo(ScaledIdentityAttention.Rounding.FLOOR);
        assertThatThrownBy(() -> provider.create(Map.of("rounding", "ceil"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("scaled-identity.rounding = ceil is not one of NONE | FLOOR");
    }

    @Test
    void unparsableValueIsAPropertyError() {
        assertThatThrownBy(() -> provider.create(Map.of("factor", "lots")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("factor");
    }

    @Test
    void createsFromAnOlcutXmlConfiguration(@TempDir Path dir) throws Exception {
        Path xml = dir.resolve("attention.xml");
        Files.writeString(xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                  <component name="mine" type="%s">
                    <property name="factor" value="4"/>
                    <property name="rounding" value="FLOOR"/>
                  </component>
                </config>
                """.formatted(ScaledIdentityAttention.class.getName()));
        ConfigurationManager cm = new ConfigurationManager(xml.toString());
        ScaledIdentityAttention a = provider.create(cm, "mine");
        assertThat(a.factor()).isEqualTo(4f);
        assertThat(a.rounding()).isEqualTo(ScaledIdentityAttention.Rounding.FLOOR);
        assertThatThrownBy(() -> provider.create(cm, "missing")).isInstanceOf(PropertyException.class);
    }

    @Test
    void descriptorRequiresTheAnnotations() {
        assertThatThrownBy(() -> ComponentDescriptor.of(Unannotated.class)).hasMessageContaining("no @ComponentInfo");
    }

    /** A component without @ComponentInfo. */
    static final class Unannotated implements org.xformers4j.component.decoding.DecodingStrategy {
        @Override
        public java.util.List<java.util.List<org.xformers4j.component.decoding.GeneratedSequence>> generate(
                org.xformers4j.component.decoding.DecodingModel model, int[][] prompts,
                org.xformers4j.component.decoding.GenerationConfig config) {
            throw new UnsupportedOperationException();
        }
    }
}
