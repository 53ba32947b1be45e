package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

class DescriptorTextTest {

    /** A mechanism whose second convergence setting sets two options. */
    @ComponentInfo(name = "two-settings", summary = "Test double.", reference = "None, 2026, test double")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(1)",
            convergesWith = {"landmarks=2", "landmarks=8, pinvIterations=30"})
    public static final class TwoSettings implements AttentionMechanism {

        private TwoSettings() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return value;
        }
    }

    @Test
    void aListCapabilitySeparatesItsEntriesSoThatAnEntryMayHoldACommaAndAnEmptyOneShowsAsBrackets() {
        String text = DescriptorText.render(ComponentDescriptor.of(TwoSettings.class));
        assertThat(text).contains("convergesWith        [landmarks=2; landmarks=8, pinvIterations=30]\n")
                .contains("exactWhen            []\n");
    }
}
