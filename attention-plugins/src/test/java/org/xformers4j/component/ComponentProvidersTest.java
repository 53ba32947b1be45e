package org.xformers4j.component;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.FlashAttentionProvider;
import org.xformers4j.attention.FullAttentionProvider;
import org.xformers4j.attention.LocalAttentionProvider;
import org.xformers4j.attention.LshAttentionProvider;
import org.xformers4j.attention.SlidingWindowAttentionProvider;
import org.xformers4j.attention.kernel.CosformerAttentionProvider;
import org.xformers4j.attention.kernel.HydraAttentionProvider;
import org.xformers4j.attention.kernel.LinearAttentionProvider;
import org.xformers4j.attention.kernel.PerformerAttentionProvider;
import org.xformers4j.attention.kernel.ReluLinearAttentionProvider;
import org.xformers4j.attention.kernel.SimaAttentionProvider;
import org.xformers4j.attention.lowrank.LinformerAttentionProvider;
import org.xformers4j.attention.lowrank.NystromAttentionProvider;
import org.xformers4j.positional.AlibiPositionalBiasProvider;
import org.xformers4j.positional.AxialPositionalEncodingProvider;
import org.xformers4j.positional.DynamicPositionBiasProvider;
import org.xformers4j.positional.LearnedPositionalEncodingProvider;
import org.xformers4j.positional.NoPositionalEncodingProvider;
import org.xformers4j.positional.RotaryPositionalEncodingProvider;
import org.xformers4j.positional.SinusoidalPositionalEncodingProvider;
import org.xformers4j.positional.T5RelativePositionBiasProvider;
import org.xformers4j.positional.XposPositionalEncodingProvider;

/** The bundle's ServiceLoader registrations, which the standalone registry reads. */
class ComponentProvidersTest {

    @Test
    @SuppressWarnings("rawtypes") // ServiceLoader is keyed by the raw class literal ComponentProvider.class
    void serviceLoaderFindsExactlyThisModulesProviders() {
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(ServiceLoader.Provider::type))
                .containsExactlyInAnyOrder(FullAttentionProvider.class, FlashAttentionProvider.class,
                        LocalAttentionProvider.class, SlidingWindowAttentionProvider.class, LshAttentionProvider.class,
                        SinusoidalPositionalEncodingProvider.class, LearnedPositionalEncodingProvider.class,
                        AxialPositionalEncodingProvider.class, NoPositionalEncodingProvider.class,
                        RotaryPositionalEncodingProvider.class, XposPositionalEncodingProvider.class,
                        AlibiPositionalBiasProvider.class, T5RelativePositionBiasProvider.class,
                        DynamicPositionBiasProvider.class, LinearAttentionProvider.class, HydraAttentionProvider.class, SimaAttentionProvider.class,
                        PerformerAttentionProvider.class, CosformerAttentionProvider.class,
                        ReluLinearAttentionProvider.class, NystromAttentionProvider.class,
                        LinformerAttentionProvider.class);
        assertThat(ServiceLoader.load(ComponentProvider.class).stream().map(p -> p.get().descriptor().name()))
                .containsExactlyInAnyOrder("full", "flash", "local", "sliding-window", "lsh", "sinusoidal", "learned",
                        "axial", "none", "rotary", "xpos", "alibi", "t5-bias", "dynamic-bias", "linear", "hydra", "sima",
                        "performer", "cosformer", "relu-linear", "nystrom", "linformer");
    }
}
