package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.attention.local.LocalAttentionProvider;
import org.xformers4j.attention.local.SlidingWindowAttentionProvider;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ProviderWithDefaults;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * The weights the softmax mechanisms report ({@link SoftmaxAttention#softmaxWeights}): the bands of
 * {@code local} and {@code sliding-window} as their kernels apply them, the shared options
 * (grouped heads, qkNorm) followed, memory slots refused.
 */
class ReportedWeightsTest {

    private final SplittableRandom rng = new SplittableRandom(9);

    private static ComponentProvider<?> provider(String name, Map<String, String> options) {
        return switch (name) {
            case "full" -> ProviderWithDefaults.of(new FullAttentionProvider(), options);
            case "flash" -> ProviderWithDefaults.of(new FlashAttentionProvider(), options);
            case "local" -> ProviderWithDefaults.of(new LocalAttentionProvider(), options);
            case "sliding-window" -> ProviderWithDefaults.of(new SlidingWindowAttentionProvider(), options);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * Bands narrower than the suite's 8 positions, so that the pattern masks pairs: the suite's
     * weights check (and every other) passes with them.
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {"local|chunkLength=3,lookForward=1", "local|chunkLength=2,lookBackward=2",
            "sliding-window|window=2", "sliding-window|window=1"})
    void narrowBandsPassTheSuiteWithTheirWeights(String name, String options) {
        Map<String, String> map = new java.util.HashMap<>();
        for (String pair : options.split(",")) {
            map.put(pair.split("=")[0], pair.split("=")[1]);
        }
        List<CheckResult> results = AttentionConformance.run(provider(name, map));
        assertThat(results).extracting(CheckResult::check).contains("weights-reproduce-output");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }

    @Test
    void slidingWindowPatternIsTheWindowEndAligned() {
        PatternedAttention sliding = (PatternedAttention) provider("sliding-window", Map.of("window", "2"))
                .create(Map.of());
        AttentionPattern both = sliding.pattern(2, 6, 6, AttentionContext.none());
        AttentionPattern causal = sliding.pattern(1, 2, 6, AttentionContext.builder().causal(true).build());
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                assertThat(both.allows(1, i, j)).as("(%d, %d)", i, j).isEqualTo(Math.abs(i - j) <= 2);
            }
        }
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 6; j++) {
                int position = 4 + i;
                assertThat(causal.allows(0, i, j)).as("(%d, %d)", i, j).isEqualTo(j <= position && j >= position - 2);
            }
        }
        assertThat(both.bias()).isNull();
        assertThatThrownBy(() -> sliding.pattern(1, 2, 6, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sliding-window: query length 2");
    }

    @Test
    void localPatternIsTheChunkNeighbourhood() {
        PatternedAttention local = (PatternedAttention) provider("local",
                Map.of("chunkLength", "2", "lookBackward", "1", "lookForward", "1")).create(Map.of());
        AttentionPattern pattern = local.pattern(1, 7, 7, AttentionContext.none());
        AttentionPattern causal = local.pattern(1, 7, 7, AttentionContext.builder().causal(true).build());
        for (int i = 0; i < 7; i++) {
            for (int j = 0; j < 7; j++) {
                boolean near = Math.abs(i / 2 - j / 2) <= 1;
                assertThat(pattern.allows(0, i, j)).as("(%d, %d)", i, j).isEqualTo(near);
                assertThat(causal.allows(0, i, j)).as("causal (%d, %d)", i, j).isEqualTo(near && j <= i);
            }
        }
        assertThatThrownBy(() -> local.pattern(1, 3, 7, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no cross-attention");
    }

    /** weights · (values repeated for their query heads) equals the forward, with kvHeads and qkNorm. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"full", "flash", "local", "sliding-window"})
    void weightsFollowGroupedHeadsAndQueryKeyNorm(String name) {
        SoftmaxAttention mechanism = (SoftmaxAttention) provider(name, Map.of()).create(Map.of("kvHeads", "1",
                "qkNorm", "true", "qkNormTemperature", "4"));
        mechanism.initialize(3, 4, rng);
        Tensor q = Tensor.randn(rng, 2, 3, 5, 4);
        Tensor k = Tensor.randn(rng, 2, 1, 5, 4);
        Tensor v = Tensor.randn(rng, 2, 1, 5, 2);
        AttentionContext context = AttentionContext.builder().causal(true)
                .keyPaddingMask(Tensor.of(new float[] {0, 0, 0, 0, 0, 0, 0, 1, 0, 1}, 2, 5))
                .bias(Tensor.randn(rng, 1, 3, 5, 5)).build();
        Tensor weights = ((WeightedAttention) mechanism).attentionWeights(q, k, context);
        float[] expected;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            expected = mechanism.forward(q, k, v, context).toFloatArray();
        }
        float[] actual = weights.matmul(v.expand(2, 3, 5, 2)).toFloatArray();
        for (int e = 0; e < expected.length; e++) {
            assertThat(actual[e]).as("%s output %d", name, e).isCloseTo(expected[e], within(1e-5f));
        }
    }

    @Test
    void memorySlotsTakeWeightOnNoKeySoWeightsAreRefused() {
        FullAttention memory = new FullAttentionProvider().create(Map.of("numMemoryKv", "2"));
        memory.initialize(2, 4, rng);
        Tensor x = Tensor.randn(rng, 1, 2, 3, 4);
        assertThatThrownBy(() -> memory.attentionWeights(x, x, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("full with numMemoryKv = 2 reports no attention weights");
    }
}
