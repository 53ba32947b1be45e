package org.xformers4j.decoding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.decoding.DecodingCapabilities;

class GreedyDecodingProviderTest {

    private final GreedyDecodingProvider provider = new GreedyDecodingProvider();

    @Test
    void describesGreedyDecoding() {
        ComponentDescriptor d = provider.descriptor();

        assertThat(d.name()).isEqualTo("greedy");
        assertThat(d.kind()).isEqualTo(ComponentKind.DECODING);
        assertThat(d.implementation()).isEqualTo(GreedyDecoding.class.getName());
        assertThat(d.summary()).contains("most probable next token");
        assertThat(d.reference()).contains("Sutskever").contains("2014");
        assertThat(d.hyperparameters()).isEmpty();
        assertThat(d.capabilities(DecodingCapabilities.class).stochastic()).isFalse();
        assertThat(d.capabilityMap()).containsExactly(Map.entry("greedyWhen", List.of()),
                Map.entry("multipleHypotheses", false), Map.entry("stochastic", false));
        assertThat(provider.type()).isEqualTo(GreedyDecoding.class);
    }

    @Test
    void createsAnInstanceWithoutOptions() {
        assertThat(provider.create(Map.of())).isInstanceOf(GreedyDecoding.class);
    }

    @Test
    void rejectsEveryOptionSinceThereAreNone() {
        assertThatThrownBy(() -> provider.create(Map.of("beams", "4")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'beams' for greedy").hasMessageContaining("valid options: none");
    }

    @Test
    void createsFromAnOlcutXmlConfiguration(@TempDir Path dir) throws Exception {
        Path xml = dir.resolve("decoding.xml");
        Files.writeString(xml, """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                  <component name="decoder" type="%s"/>
                </config>
                """.formatted(GreedyDecoding.class.getName()));

        assertThat(provider.create(new ConfigurationManager(xml.toString()), "decoder")).isInstanceOf(GreedyDecoding.class);
    }

    @Test
    void serviceLoaderFindsTheProvider() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::get))
                .anySatisfy(p -> {
                    assertThat(p).isInstanceOf(GreedyDecodingProvider.class);
                    assertThat(p.descriptor().name()).isEqualTo("greedy");
                });
    }
}
