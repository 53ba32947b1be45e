package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.FullAttentionProvider;
import org.xformers4j.component.ComponentProvider;

/** The bundle's ServiceLoader registrations, which the standalone registry reads. */
class ComponentProvidersTest {

    @Test
    @SuppressWarnings("rawtypes") // ServiceLoader is keyed by the raw class literal ComponentProvider.class
    void serviceLoaderFindsExactlyThisModulesProviders() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::type))
                .containsExactlyInAnyOrder(FullAttentionProvider.class, SinusoidalPositionalEncodingProvider.class,
                        LearnedPositionalEncodingProvider.class);
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(p -> p.get().descriptor().name()))
                .containsExactlyInAnyOrder("full", "sinusoidal", "learned");
    }
}
