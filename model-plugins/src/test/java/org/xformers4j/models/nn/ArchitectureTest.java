package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@link Architecture}: one OLCUT configurable for the network, validated like a component, written
 * to and read from a model's metadata generically (so no field can be forgotten), and building
 * the encoder and decoder through the registry it is given.
 */
class ArchitectureTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();

    /** Every field away from its default. */
    private static Architecture everyFieldSet() {
        return Architecture.builder().attention("local", Map.of("window", "3")).positional("learned",
                        Map.of("maxLength", "32")).modelDim(24).heads(3).layers(3).hidden(40)
                .activation(FeedForward.Activation.SWIGLU).norm(NormKind.RMS).normPlacement(NormPlacement.SANDWICH)
                .bias(false).dropout(0.125f).attentionDropout(0.0625f).dropPath(0.1f).feedForwardChunkSize(5)
                .pooling(TransformerEncoder.Pooling.MEAN).numRegisterTokens(2).tiedEmbeddings(false).build();
    }

    @Test
    void everyConfigFieldIsWrittenAndReadBack() {
        Architecture architecture = everyFieldSet();
        Map<String, String> metadata = architecture.toMetadata();

        for (Field field : Architecture.class.getDeclaredFields()) {
            if (field.isAnnotationPresent(Config.class) && !Map.class.isAssignableFrom(field.getType())) {
                assertThat(metadata).as(field.getName()).containsKey(Architecture.METADATA_PREFIX + field.getName());
            }
        }
        assertThat(metadata).containsEntry("architecture.attentionOptions.window", "3")
                .containsEntry("architecture.positionalOptions.maxLength", "32")
                .containsEntry("architecture.dropPath", "0.1");
        Architecture read = Architecture.fromMetadata(metadata);
        assertThat(read).isEqualTo(architecture).hasToString(architecture.toString());
        assertThat(read.blockConfig()).isEqualTo(architecture.blockConfig());
        assertThat(read.encoderConfig()).isEqualTo(architecture.encoderConfig());
        assertThat(read.decoderConfig(50, true)).isEqualTo(architecture.decoderConfig(50, true));
        assertThat(read.blockConfig().dropPath()).isEqualTo(0.1f);
        assertThat(read.toBuilder().build()).isEqualTo(architecture);
    }

    @Test
    void modelsSavedBeforeTokenSelectionLoadWithoutItButOtherMissingEntriesAreRefused() {
        Architecture architecture = Architecture.builder().modelDim(32).heads(4).build();
        Map<String, String> before = new java.util.HashMap<>(architecture.toMetadata());
        before.remove("architecture.tokenSelectionLayers");
        before.remove("architecture.keepRatio");
        Architecture read = Architecture.fromMetadata(before);
        assertThat(read).isEqualTo(architecture);
        assertThat(read.encoderConfig()).isEqualTo(architecture.encoderConfig());

        Map<String, String> truncated = new java.util.HashMap<>(architecture.toMetadata());
        truncated.remove("architecture.heads");
        assertThatThrownBy(() -> Architecture.fromMetadata(truncated)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no 'architecture.heads' entry");
    }

    @Test
    void theDefaultsAreThoseOfTheTransformerTrainerBefore() {
        Architecture defaults = Architecture.builder().build();
        assertThat(defaults.attention()).isEqualTo("full");
        assertThat(defaults.positional()).isEqualTo("none");
        assertThat(defaults.encoderConfig()).isEqualTo(EncoderConfig.builder(BlockConfig.builder(64, 4).build(), 2)
                .build());
        assertThat(defaults.tiedEmbeddings()).isTrue();
        assertThat(defaults.isStochastic()).isFalse();
    }

    @Test
    void badValuesAreRefusedNamingTheField() {
        assertThatThrownBy(() -> Architecture.builder().modelDim(0).build()).isInstanceOf(PropertyException.class)
                .hasMessageContaining("Architecture.modelDim = 0 is outside the valid range [1, +inf)")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("modelDim"));
        assertThatThrownBy(() -> Architecture.builder().dropout(1f).build())
                .hasMessageContaining("Architecture.dropout = 1.0 is outside the valid range [0, 1)");
        assertThatThrownBy(() -> Architecture.builder().attentionDropout(Float.NaN).build())
                .hasMessageContaining("Architecture.attentionDropout = NaN");
        assertThatThrownBy(() -> Architecture.builder().norm(null).build())
                .hasMessageContaining("Architecture.norm must be set, got null");
        assertThatThrownBy(() -> Architecture.builder().modelDim(64).heads(3).build())
                .hasMessageContaining("heads = 3 must divide modelDim = 64")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("heads"));
        assertThatThrownBy(() -> Architecture.builder().reversible(true).normPlacement(NormPlacement.POST).build())
                .hasMessageContaining("reversible blocks need normPlacement PRE, got POST");
        assertThatThrownBy(() -> Architecture.builder().reversible(true).dropPath(0.1f).build())
                .hasMessageContaining("dropout, attentionDropout and dropPath must be 0, got 0.0, 0.0 and 0.1");
        assertThatThrownBy(() -> Architecture.builder().modelDim(1 << 30).heads(1).build())
                .hasMessageContaining("4 * modelDim, which overflows");
        Architecture.Builder once = Architecture.builder();
        once.build();
        assertThatThrownBy(once::build).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void anOlcutFileConfiguresItAndValidatesItsRanges(@TempDir Path dir) throws IOException {
        Path xml = Files.writeString(dir.resolve("architecture.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <config>
                    <component name="architecture" type="org.xformers4j.models.nn.Architecture">
                        <property name="attention" value="flash"/>
                        <property name="positional" value="learned"/>
                        <propertymap name="positionalOptions">
                            <entry key="maxLength" value="16"/>
                        </propertymap>
                        <property name="modelDim" value="MODEL_DIM"/>
                        <property name="heads" value="4"/>
                        <property name="dropPath" value="0.1"/>
                    </component>
                </config>
                """.replace("MODEL_DIM", "32"));
        try (ConfigurationManager manager = new ConfigurationManager(xml.toString())) {
            Architecture architecture = (Architecture) manager.lookup("architecture");
            assertThat(architecture).isEqualTo(Architecture.builder().attention("flash", Map.of())
                    .positional("learned", Map.of("maxLength", "16")).modelDim(32).heads(4).dropPath(0.1f).build());
        }
        Files.writeString(xml, Files.readString(xml).replace("\"32\"", "\"-32\""));
        try (ConfigurationManager manager = new ConfigurationManager(xml.toString())) {
            assertThatThrownBy(() -> manager.lookup("architecture")).hasStackTraceContaining(
                    "Architecture.modelDim = -32 is outside the valid range [1, +inf)");
        }
    }

    @Test
    void componentNamesAreCheckedAgainstTheRegistryNamingTheField() {
        Architecture unknown = Architecture.builder().attention("flsh", Map.of()).build();
        assertThatThrownBy(() -> unknown.checkComponents(REGISTRY)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("attention = 'flsh'").hasMessageContaining("flash")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("attention"));
        Architecture badOption = Architecture.builder().positional("rotary", Map.of("bogus", "1")).build();
        assertThatThrownBy(() -> badOption.checkComponents(REGISTRY)).isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'bogus'")
                .satisfies(e -> assertThat(((PropertyException) e).getProperty()).isEqualTo("positionalOptions"));
    }

    @Test
    void theEncoderAndDecoderAreBuiltThroughTheGivenRegistry() {
        Architecture architecture = Architecture.builder().attention("flash", Map.of()).positional("rotary", Map.of())
                .modelDim(8).heads(2).layers(2).dropPath(0.2f).build();
        CountingRegistry registry = new CountingRegistry(REGISTRY);

        TransformerEncoder encoder = architecture.encoder(registry, new SplittableRandom(1));
        TransformerDecoder decoder = architecture.decoder(registry, 30, true, new SplittableRandom(1));

        assertThat(registry.created()).containsExactly("rotary", "flash", "flash",            // the encoder
                "rotary", "flash", "flash", "flash", "flash");                                 // self and cross
        assertThat(encoder.config()).isEqualTo(architecture.encoderConfig());
        assertThat(decoder.config()).isEqualTo(architecture.decoderConfig(30, true));
        assertThat(decoder.config().block().dropPath()).isEqualTo(0.2f);
        assertThatThrownBy(() -> Architecture.builder().reversible(true).build().decoderConfig(30, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("decoders have no reversible blocks");
    }

    @Test
    void theMapsItHandsOutAreCopies() {
        Map<String, String> options = new HashMap<>(Map.of("window", "3"));
        Architecture architecture = Architecture.builder().attention("local", options).build();
        options.put("window", "5");
        assertThat(architecture.attentionOptions()).containsExactly(Map.entry("window", "3"));
        assertThatThrownBy(() -> architecture.attentionOptions().put("x", "y"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(Arrays.asList(architecture.toMetadata().keySet().toArray())).contains("architecture.attention");
    }
}
