package org.xformers4j.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FlashAttention;
import org.xformers4j.attention.exact.FlashAttentionProvider;
import org.xformers4j.attention.exact.FullAttentionProvider;
import org.xformers4j.attention.hashing.LshAttentionProvider;
import org.xformers4j.attention.kernel.SimaAttentionProvider;
import org.xformers4j.attention.local.LocalAttentionProvider;
import org.xformers4j.attention.local.SlidingWindowAttentionProvider;
import org.xformers4j.attention.lowrank.LinformerAttentionProvider;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.FlopCount.Shape;

/**
 * Every registered mechanism counts its own FLOPs ({@link FlopCount}), and the counts agree with
 * what the mechanisms are: full attention in their exact configuration, the visible pairs for
 * causal flash attention, linear growth for every mechanism but the two exact ones.
 */
class FlopCountTest {

    private static FlopCount create(ComponentProvider<?> provider, Map<String, String> options) {
        return (FlopCount) provider.create(options);
    }

    private static Map<String, ComponentProvider<?>> providers() {
        Map<String, ComponentProvider<?>> out = new LinkedHashMap<>();
        AttentionConformanceTest.attentionProviders().forEach(p -> out.put(p.descriptor().name(), p));
        return out;
    }

    @Test
    void everyAttentionMechanismCountsItsFlops() {
        assertThat(providers()).allSatisfy((name, provider) -> assertThat(provider.create(Map.of())).as(name)
                .isInstanceOf(FlopCount.class));
    }

    /**
     * Sliding-window and local attention with a window covering the sequence, and LSH with one
     * round, one bucket and one chunk (and no chunk before it in the window, which would add
     * masked slots), compute exactly full attention's scores.
     */
    @Test
    void withOneBlockCoveringTheSequenceMechanismsCountWhatFullAttentionCounts() {
        FlopCount full = create(new FullAttentionProvider(), Map.of());
        Map<FlopCount, String> covering = Map.of(
                create(new SlidingWindowAttentionProvider(), Map.of("window", "1000000")), "sliding-window",
                create(new LocalAttentionProvider(), Map.of("chunkLength", "1000000")), "local",
                create(new LshAttentionProvider(), Map.of("numHashes", "1", "numBuckets", "1",
                        "chunkLength", "1000000", "chunksBefore", "0")), "lsh");
        covering.forEach((mechanism, name) -> {
            for (boolean causal : new boolean[] {false, true}) {
                Shape shape = new Shape(2, 3, 100, 100, 16, 8, causal);
                assertThat(mechanism.forwardFlops(shape)).as(name).isEqualTo(full.forwardFlops(shape));
                assertThat(mechanism.backwardFlops(shape)).as(name).isEqualTo(full.backwardFlops(shape));
            }
        });
    }

    @Test
    void causalFlashAttentionCountsThePairsAQuerySees() {
        FlopCount flash = create(new FlashAttentionProvider(), Map.of());
        FlopCount full = create(new FullAttentionProvider(), Map.of());
        int[][] lengths = {{37, 37}, {5, 37}, {1, 37}, {37, 5}};
        for (int[] l : lengths) {
            long pairs = 0;
            for (int i = 0; i < l[0]; i++) {
                for (int j = 0; j < l[1]; j++) {
                    pairs += j <= l[1] - l[0] + i ? 1 : 0;
                }
            }
            Shape causal = new Shape(2, 3, l[0], l[1], 8, 4, true);
            Shape plain = new Shape(2, 3, l[0], l[1], 8, 4, false);
            assertThat(flash.forwardFlops(causal)).as("%d queries over %d keys", l[0], l[1])
                    .isEqualTo(2.0 * 2 * 3 * pairs * (8 + 4));
            assertThat(flash.forwardFlops(plain)).isEqualTo(full.forwardFlops(plain));
            // FlashAttention-2: the backward recomputes the scores, five products to the forward's two
            assertThat(flash.backwardFlops(causal)).isEqualTo(2.5 * flash.forwardFlops(causal));
        }
    }

    @Test
    void everyMechanismButTheExactOnesGrowsLinearlyWithTheLength() {
        providers().forEach((name, provider) -> {
            if (name.equals("block-sparse")) {
                // its growth is its layout's: linear for BIGBIRD and LONGFORMER, N²/stride for FIXED and STRIDED
                // with a fixed stride (Child et al. take it near √N); see BlockSparseAttentionTest
                return;
            }
            FlopCount mechanism = create(provider, Map.of());
            boolean exact = provider.descriptor().capabilities(AttentionCapabilities.class).exact();
            for (boolean causal : new boolean[] {false, true}) {
                Shape n = Shape.self(1, 8, 1 << 14, 64, causal);
                Shape twice = Shape.self(1, 8, 1 << 15, 64, causal);
                double forward = mechanism.forwardFlops(twice) / mechanism.forwardFlops(n);
                double backward = mechanism.backwardFlops(twice) / mechanism.backwardFlops(n);
                // twice the length: 4 times the work when quadratic, twice (less a fixed part, e.g. Nyström's
                // pseudo-inverse of the landmarks, or plus one, e.g. BigBird's windows clipped at the ends) when linear
                assertThat(forward).as(name).isBetween(exact ? 3.9 : 1.9, exact ? 4.0 : 2.001);
                assertThat(backward).as(name).isBetween(exact ? 3.9 : 1.9, exact ? 4.0 : 2.001);
            }
        });
    }

    @Test
    void simaCountsTheOrderItTakes() {
        ComponentProvider<?> sima = new SimaAttentionProvider();
        for (int length : new int[] {16, 64, 4096}) {
            Shape shape = Shape.self(1, 2, length, 64, false);
            double kvFirst = create(sima, Map.of("order", "KV_FIRST")).forwardFlops(shape);
            double qkFirst = create(sima, Map.of("order", "QK_FIRST")).forwardFlops(shape);
            assertThat(create(sima, Map.of()).forwardFlops(shape)).as("length %d", length)
                    .isEqualTo(Math.min(kvFirst, qkFirst));
            assertThat(qkFirst / kvFirst).as("length %d", length).isCloseTo(length / 64.0, within(1e-9));
        }
    }

    @Test
    void linformerCountsItsProjectionsBesideTheAttentionOverTheSlots() {
        FlopCount full = create(new FullAttentionProvider(), Map.of());
        Shape shape = new Shape(2, 3, 64, 64, 16, 8, false);
        // k = n: projecting the keys and values costs as much as attending to the n slots, the scores of full attention
        FlopCount square = create(new LinformerAttentionProvider(), Map.of("k", "64", "maxLength", "64"));
        assertThat(square.forwardFlops(shape)).isEqualTo(2 * full.forwardFlops(shape));
        // PAD projects maxLength positions whatever the input length; SLICE only the input's
        FlopCount sliced = create(new LinformerAttentionProvider(), Map.of("k", "16", "maxLength", "256"));
        FlopCount padded = create(new LinformerAttentionProvider(),
                Map.of("k", "16", "maxLength", "256", "shortInput", "PAD"));
        assertThat(sliced.forwardFlops(shape)).isEqualTo(2.0 * 2 * 3 * (64 + 64) * 16 * (16 + 8));
        assertThat(padded.forwardFlops(shape)).isEqualTo(2.0 * 2 * 3 * (256 + 64) * 16 * (16 + 8));
        // the convolution: windows of s = 256/16 = 16 positions, a D×D (and Dv×Dv) product per position covered
        FlopCount convolution = create(new LinformerAttentionProvider(),
                Map.of("k", "16", "maxLength", "256", "method", "CONVOLUTION"));
        Shape square8 = new Shape(2, 3, 64, 70, 8, 8, false);
        assertThat(convolution.forwardFlops(square8)).isEqualTo(2.0 * 2 * 3 * (80 * (64 + 64) + 64 * 16 * 16));
    }
}
