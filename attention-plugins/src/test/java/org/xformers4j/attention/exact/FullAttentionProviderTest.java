package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.attention.AttentionCapabilities;

class FullAttentionProviderTest {

    private final FullAttentionProvider provider = new FullAttentionProvider();

    @Test
    void createsConfiguredInstances() {
        assertThat(provider.create(Map.of("scale", "0.5")).scale()).isEqualTo(0.5f);
        assertThat(provider.create(Map.of()).scale()).isZero();
        assertThat(provider.type()).isEqualTo(FullAttention.class);
    }

    @Test
    void unknownOptionListsTheValidOnes() {
        assertThatThrownBy(() -> provider.create(Map.of("temperature", "2")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'temperature' for full; valid options: scale");
    }

    @Test
    void outOfRangeValueNamesComponentFieldAndValue() {
        assertThatThrownBy(() -> provider.create(Map.of("scale", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("full.scale = -1.0 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> new FullAttention(Float.POSITIVE_INFINITY))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("full.scale = Infinity");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = provider.descriptor();
        assertThat(d.name()).isEqualTo("full");
        assertThat(d.kind()).isEqualTo(ComponentKind.ATTENTION);
        assertThat(d.summary()).isNotBlank();
        assertThat(d.reference()).isEqualTo("Vaswani et al., 2017, Attention Is All You Need");
        assertThat(d.implementation()).isEqualTo(FullAttention.class.getName());
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name).containsExactly("scale", "kvHeads", "qkNorm", "qkNormTemperature", "numMemoryKv",
                "talkingHeads", "topK");
        assertThat(d.hyperparameters().get(0)).isEqualTo(new Hyperparameter("scale", "float", "0.0",
                "Multiplier of the query-key dot products; 0 means 1/sqrt(headDim).", false, "[0, +inf)",
                java.util.List.of()));
        assertThat(d.capabilityMap()).contains(entry("causal", true), entry("crossAttention", true),
                entry("keyPaddingMask", true), entry("additiveBias", true), entry("incrementalDecoding", true),
                entry("exact", true), entry("sharedQueryKey", false), entry("length", "NONE"),
                entry("time", "O(N^2)"), entry("memory", "O(N^2)"));
        assertThat(d.capabilities(AttentionCapabilities.class).causal()).isTrue();
    }
}
