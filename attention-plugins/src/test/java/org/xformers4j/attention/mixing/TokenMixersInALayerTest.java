package org.xformers4j.attention.mixing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Each token mixer inside a {@link MultiHeadAttention} layer, as models use it: the layer
 * initialises it, its parameters are the layer's (so an optimiser trains them) and get gradients,
 * and they are saved and loaded with the layer's state.
 */
class TokenMixersInALayerTest {

    private static final List<ComponentProvider<?>> MIXERS = List.of(new SwiftFormerAttentionProvider(),
            new CrossCovarianceAttentionProvider(), new ConvolutionalModulationProvider());

    private static MultiHeadAttention layer(ComponentProvider<?> provider, long seed) {
        return new MultiHeadAttention(8, 2, (AttentionMechanism) provider.create(Map.of()), null, true,
                new SplittableRandom(seed));
    }

    @Test
    void theLayerTrainsAndSavesTheMixersParameters() {
        for (ComponentProvider<?> provider : MIXERS) {
            String name = provider.descriptor().name();
            Tensor x = Tensor.randn(new SplittableRandom(1), 2, 6, 8);
            MultiHeadAttention first = layer(provider, 2);
            first.selfAttention(x, AttentionContext.none()).sum().backward();
            Map<String, Tensor> parameters = first.namedParameters();
            List<String> mixer = parameters.keySet().stream().filter(k -> k.startsWith("mechanism.")).toList();
            assertThat(mixer).as(name).isNotEmpty();
            for (String p : mixer) {
                assertThat(parameters.get(p).grad()).as("%s %s", name, p).isNotNull();
                assertThat(parameters.get(p).grad().abs().sum().item()).as("%s %s", name, p).isGreaterThan(0f);
            }
            MultiHeadAttention second = layer(provider, 3);
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                float[] before = second.selfAttention(x, AttentionContext.none()).toFloatArray();
                second.loadStateDict(first.stateDict());
                float[] loaded = second.selfAttention(x, AttentionContext.none()).toFloatArray();
                assertThat(loaded).as(name).isNotEqualTo(before)
                        .containsExactly(first.selfAttention(x, AttentionContext.none()).toFloatArray());
            }
        }
    }
}
