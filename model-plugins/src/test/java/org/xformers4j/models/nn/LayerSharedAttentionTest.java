package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * Attention mechanisms placed in a stack ({@link org.xformers4j.component.attention.StackAware})
 * by {@link BlockStack}, with Linformer: a LAYERWISE projection is one parameter of the stack that
 * every block uses and whose gradient is the sum of theirs, survives a state-dict round trip as
 * one, cross-attention shares through its own store, and k shrinks with the block index.
 */
class LayerSharedAttentionTest {

    private static final ComponentRegistry REGISTRY = ComponentRegistry.standalone();
    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int LAYERS = 3;
    private static final int LENGTH = 5;
    private static final String SHARED = "blocks.attentionShared.linformerProjection";

    private static Supplier<AttentionMechanism> linformer(String sharing, String kReduceByLayer) {
        return () -> REGISTRY.create(AttentionMechanism.class, "linformer", Map.of("k", "4", "maxLength", "6",
                "sharing", sharing, "kReduceByLayer", kReduceByLayer));
    }

    private static TransformerEncoder encoder(String sharing, String kReduceByLayer, long seed) {
        EncoderConfig config = EncoderConfig.builder(BlockConfig.builder(DIM, HEADS).hidden(16).build(), LAYERS)
                .pooling(TransformerEncoder.Pooling.MEAN).build();
        TransformerEncoder encoder = new TransformerEncoder(config, linformer(sharing, kReduceByLayer), null,
                new SplittableRandom(seed));
        encoder.eval();
        return encoder;
    }

    /** Sample 0 has its last two of five tokens padded, sample 1 none. */
    private static Tensor padding() {
        return Tensor.of(new float[] {0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2, LENGTH);
    }

    private static Tensor input() {
        return Tensor.randn(new SplittableRandom(17), 2, LENGTH, DIM);
    }

    /** The names of the Linformer projections among {@code names}. */
    private static List<String> projections(Iterable<String> names) {
        List<String> out = new ArrayList<>();
        for (String name : names) {
            if (name.toLowerCase(Locale.ROOT).endsWith("projection")) {
                out.add(name);
            }
        }
        return out;
    }

    @Test
    void aLayerwiseStackHasOneProjectionParameter() {
        TransformerEncoder encoder = encoder("LAYERWISE", "0", 1);
        assertThat(projections(encoder.namedParameters().keySet())).containsExactly(SHARED);
        assertThat(encoder.namedParameters().get(SHARED).shape()).containsExactly(6, 4);
        assertThat(projections(encoder("KV", "0", 1).namedParameters().keySet())).containsExactly(
                "blocks.0.attention.mechanism.projection", "blocks.1.attention.mechanism.projection",
                "blocks.2.attention.mechanism.projection");
    }

    @Test
    void theSharedGradientIsTheSumOfEveryLayersGradient() {
        TransformerEncoder shared = encoder("LAYERWISE", "0", 2);
        // the same network with a copy of the projection per layer (KV: E = F per layer)
        TransformerEncoder copies = encoder("KV", "0", 3);
        Map<String, ParameterState> state = new LinkedHashMap<>(shared.stateDict());
        ParameterState projection = state.remove(SHARED);
        for (int l = 0; l < LAYERS; l++) {
            state.put("blocks." + l + ".attention.mechanism.projection", projection);
        }
        copies.loadStateDict(state);
        Tensor x = input();
        Tensor weights = Tensor.randn(new SplittableRandom(5), 2, LENGTH, DIM);
        Tensor out = shared.forward(x, padding()).sequence();
        Tensor outCopies = copies.forward(x, padding()).sequence();
        assertThat(outCopies.toFloatArray()).containsExactly(out.toFloatArray());
        out.mul(weights).sum().backward();
        outCopies.mul(weights).sum().backward();

        float[] sum = new float[projection.values().length];
        for (int l = 0; l < LAYERS; l++) {
            float[] g = copies.namedParameters().get("blocks." + l + ".attention.mechanism.projection").grad()
                    .toFloatArray();
            assertThat(g).as("layer %d's gradient", l).isNotEqualTo(new float[g.length]);
            for (int e = 0; e < g.length; e++) {
                sum[e] += g[e];
            }
        }
        float[] actual = shared.namedParameters().get(SHARED).grad().toFloatArray();
        for (int e = 0; e < sum.length; e++) {
            assertThat(actual[e]).as("element %d", e).isCloseTo(sum[e], within(1e-5f * (1 + Math.abs(sum[e]))));
        }
    }

    @Test
    void theSharedGradientMatchesFiniteDifferencesThroughTheWholeStack() {
        TransformerEncoder encoder = encoder("LAYERWISE", "0", 4);
        Tensor x = input();
        Tensor parameter = encoder.namedParameters().get(SHARED);
        Map<String, ParameterState> original = encoder.stateDict();
        GradientCheck.Reference perturbed = values -> {
            Map<String, ParameterState> state = new LinkedHashMap<>(original);
            float[] data = new float[values[0].length];
            for (int e = 0; e < data.length; e++) {
                data[e] = (float) values[0][e];
            }
            state.put(SHARED, new ParameterState(parameter.shape(), data));
            encoder.loadStateDict(state);
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                float[] out = encoder.forward(x, padding()).sequence().toFloatArray();
                double[] result = new double[out.length];
                for (int e = 0; e < out.length; e++) {
                    result[e] = out[e];
                }
                return result;
            } finally {
                encoder.loadStateDict(original);
            }
        };
        GradientCheck.Result result = GradientCheck.of("d/d " + SHARED, in -> encoder.forward(x, padding()).sequence(),
                perturbed, parameter).step(1e-2).gradTolerance(1e-2).run();
        assertThat(result.passed()).as(result.detail()).isTrue();
    }

    @Test
    void aStateDictRoundTripRestoresTheSharing() {
        TransformerEncoder trained = encoder("LAYERWISE", "1", 6);
        Map<String, ParameterState> state = trained.stateDict();
        assertThat(projections(state.keySet())).containsExactly(SHARED);
        TransformerEncoder loaded = encoder("LAYERWISE", "1", 7);
        Tensor x = input();
        assertThat(loaded.forward(x, padding()).sequence().toFloatArray())
                .isNotEqualTo(trained.forward(x, padding()).sequence().toFloatArray());
        loaded.loadStateDict(state);
        // every layer reads the one loaded projection: had any layer kept its own, the outputs would differ
        assertThat(loaded.forward(x, padding()).sequence().toFloatArray())
                .containsExactly(trained.forward(x, padding()).sequence().toFloatArray());
    }

    @Test
    void kShrinksByLayer() {
        TransformerEncoder encoder = encoder("HEADWISE", "2", 8);
        int[] k = {4, 2, 1};
        for (int l = 0; l < LAYERS; l++) {
            assertThat(encoder.namedParameters().get("blocks." + l + ".attention.mechanism.keyProjection").shape())
                    .as("layer %d", l).containsExactly(6, k[l]);
        }
        assertThat(encoder.forward(input(), padding()).sequence().shape()).containsExactly(2, LENGTH, DIM);
    }

    @Test
    void crossAttentionSharesThroughItsOwnStore() {
        DecoderConfig config = new DecoderConfig(BlockConfig.builder(DIM, HEADS).hidden(16).build(), 2, 7, true,
                true, 0f);
        TransformerDecoder decoder = new TransformerDecoder(config,
                () -> REGISTRY.create(AttentionMechanism.class, "flash", Map.of()), linformer("LAYERWISE", "0"),
                null, new SplittableRandom(9));
        assertThat(projections(decoder.namedParameters().keySet()))
                .containsExactly("blocks.crossAttentionShared.linformerProjection");
    }
}
