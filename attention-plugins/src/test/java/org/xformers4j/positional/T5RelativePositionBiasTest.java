package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class T5RelativePositionBiasTest {

    private static T5RelativePositionBias t5(int numBuckets, int maxDistance, boolean bidirectional, int heads) {
        T5RelativePositionBias pe = new T5RelativePositionBias(numBuckets, maxDistance, bidirectional, 0.02f);
        pe.initialize(8 * heads, heads, new SplittableRandom(heads));
        return pe;
    }

    /**
     * The T5 bucket of {@code key - query} written independently of the log formula: a direction
     * of n buckets has n/2 exact ones, and its k-th logarithmic bucket (k = 0 … n/2 - 1) holds the
     * distances from (n/2)·(maxDistance / (n/2))^(k / (n/2)) on, the last one everything beyond.
     */
    private static int expectedBucket(int relative, int numBuckets, int maxDistance, boolean bidirectional) {
        int n = bidirectional ? numBuckets / 2 : numBuckets;
        int first = bidirectional && relative > 0 ? n : 0;
        int distance = bidirectional ? Math.abs(relative) : Math.max(0, -relative);
        int exact = n / 2;
        if (distance < exact) {
            return first + distance;
        }
        int logarithmic = n - exact;
        int k = 0;
        while (k + 1 < logarithmic
                && exact * Math.pow((double) maxDistance / exact, (double) (k + 1) / logarithmic) <= distance) {
            k++;
        }
        return first + exact + k;
    }

    @Test
    void bidirectionalBucketsOfT5ByHand() {
        T5RelativePositionBias pe = new T5RelativePositionBias(32, 128, true, 0.02f);
        // keys at or before the query: buckets 0 … 15; 0 … 7 exact, then 8 + ⌊2·log2(d / 8)⌋
        int[][] before = {{0, 0}, {-1, 1}, {-7, 7}, {-8, 8}, {-11, 8}, {-12, 9}, {-16, 10}, {-22, 10}, {-23, 11},
            {-32, 12}, {-45, 12}, {-46, 13}, {-64, 14}, {-90, 14}, {-91, 15}, {-127, 15}, {-128, 15}, {-200, 15}};
        // keys after the query: the same shifted by 16
        int[][] after = {{1, 17}, {7, 23}, {8, 24}, {12, 25}, {16, 26}, {64, 30}, {91, 31}, {200, 31}};
        for (int[][] cases : new int[][][] {before, after}) {
            for (int[] c : cases) {
                assertThat(pe.bucket(c[0])).as("relative position %d", c[0]).isEqualTo(c[1]);
            }
        }
    }

    @Test
    void causalBucketsOfT5ByHand() {
        T5RelativePositionBias pe = new T5RelativePositionBias(32, 128, false, 0.02f);
        // later keys share bucket 0; 0 … 15 exact, then 16 + ⌊16·ln(d / 16) / ln 8⌋
        int[][] cases = {{5, 0}, {200, 0}, {0, 0}, {-1, 1}, {-15, 15}, {-16, 16}, {-32, 21}, {-64, 26},
            {-127, 31}, {-128, 31}, {-500, 31}};
        for (int[] c : cases) {
            assertThat(pe.bucket(c[0])).as("relative position %d", c[0]).isEqualTo(c[1]);
        }
    }

    @Test
    void bucketsMatchTheFormulaOverARangeOfPositions() {
        int[][] configs = {{32, 128}, {16, 64}, {8, 20}, {64, 1000}, {4, 5}};
        for (int[] config : configs) {
            for (boolean bidirectional : new boolean[] {true, false}) {
                T5RelativePositionBias pe = new T5RelativePositionBias(config[0], config[1], bidirectional, 0.02f);
                for (int relative = -200; relative <= 200; relative++) {
                    assertThat(pe.bucket(relative))
                            .as("numBuckets %d, maxDistance %d, bidirectional %s, relative position %d", config[0],
                                    config[1], bidirectional, relative)
                            .isEqualTo(expectedBucket(relative, config[0], config[1], bidirectional));
                }
            }
        }
    }

    @Test
    void biasIsTheTableRowOfEachPairsBucket() {
        for (boolean bidirectional : new boolean[] {true, false}) {
            int heads = 3;
            T5RelativePositionBias pe = t5(16, 40, bidirectional, heads);
            float[] table = pe.weight().toFloatArray();
            int[][] windows = {{6, 6, 0}, {2, 9, 7}, {1, 300, 299}, {3, 5, 0}};
            for (int[] w : windows) {
                int queryLength = w[0];
                int keyLength = w[1];
                int queryOffset = w[2];
                Tensor bias = pe.attentionBias(heads, queryLength, keyLength, queryOffset);
                assertThat(bias.shape()).containsExactly(1, heads, queryLength, keyLength);
                for (int h = 0; h < heads; h++) {
                    for (int t = 0; t < queryLength; t++) {
                        for (int j = 0; j < keyLength; j++) {
                            int bucket = expectedBucket(j - (queryOffset + t), 16, 40, bidirectional);
                            assertThat(bias.get(0, h, t, j)).as("head %d, query %d, key %d", h, queryOffset + t, j)
                                    .isEqualTo(table[bucket * heads + h]);
                        }
                    }
                }
            }
            // distances past maxDistance share the last bucket before the query, so longer inputs reuse trained values
            int last = bidirectional ? 7 : 15;
            Tensor far = pe.attentionBias(heads, 1, 300, 299);
            assertThat(far.get(0, 1, 0, 0)).isEqualTo(far.get(0, 1, 0, 250)).isEqualTo(table[last * heads + 1]);
        }
    }

    @Test
    void gradientsReachTheTable() {
        int heads = 2;
        int numBuckets = 8;
        int maxDistance = 6;
        int queryLength = 3;
        int keyLength = 9;
        int queryOffset = 6;
        for (boolean bidirectional : new boolean[] {true, false}) {
            T5RelativePositionBias pe = t5(numBuckets, maxDistance, bidirectional, heads);
            // bias[0, h, t, j] = weight[bucket(j - (queryOffset + t)), h]
            GradCheck.of("t5-bias", in -> pe.attentionBias(heads, queryLength, keyLength, queryOffset), ref -> {
                double[] out = new double[heads * queryLength * keyLength];
                for (int h = 0; h < heads; h++) {
                    for (int t = 0; t < queryLength; t++) {
                        for (int j = 0; j < keyLength; j++) {
                            int bucket = expectedBucket(j - (queryOffset + t), numBuckets, maxDistance, bidirectional);
                            out[(h * queryLength + t) * keyLength + j] = ref[0][bucket * heads + h];
                        }
                    }
                }
                return out;
            }, pe.weight()).check();
        }
    }

    @Test
    void tableIsTheModuleParameter() {
        T5RelativePositionBias pe = t5(32, 128, true, 8);
        assertThat(pe.namedParameters()).containsOnlyKeys("weight");
        assertThat(pe.namedParameters().get("weight")).isSameAs(pe.weight());
        assertThat(pe.weight().shape()).containsExactly(32, 8);
        assertThat(pe.weight().requiresGrad()).isTrue();
        float[] w = pe.weight().toFloatArray();
        double squares = 0;
        for (float v : w) {
            squares += (double) v * v;
        }
        assertThat(Math.sqrt(squares / w.length)).isCloseTo(0.02, within(0.005));
        assertThatThrownBy(() -> pe.initialize(64, 8, new SplittableRandom(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("t5-bias: already initialized with 8 heads");
    }

    @Test
    void checksInitializationHeadsAndArguments() {
        T5RelativePositionBias pe = new T5RelativePositionBias(32, 128, true, 0.02f);
        assertThat(pe.weight()).isNull();
        assertThatThrownBy(() -> pe.attentionBias(4, 2, 2, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("t5-bias: initialize(modelDim, heads, rng) must be called before use");
        pe.initialize(16, 4, new SplittableRandom(2));
        assertThatThrownBy(() -> pe.attentionBias(8, 2, 2, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("t5-bias: asked for a bias for 8 heads but was initialized with 4 heads");
        assertThatThrownBy(() -> pe.attentionBias(4, 2, 2, -3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("t5-bias: queryOffset must be >= 0, got -3");
    }

    @Test
    void worksThroughMultiHeadAttentionWithFullAndFlash() {
        BiasEndToEnd.check(t5(8, 6, true, 4), 4);
        BiasEndToEnd.check(t5(8, 6, false, 2), 2);
    }

    @Test
    void providerConfiguresAndValidates() {
        T5RelativePositionBiasProvider provider = new T5RelativePositionBiasProvider();
        T5RelativePositionBias defaults = provider.create(Map.of());
        assertThat(defaults.numBuckets()).isEqualTo(32);
        assertThat(defaults.maxDistance()).isEqualTo(128);
        assertThat(defaults.bidirectional()).isTrue();
        T5RelativePositionBias causal = provider.create(Map.of("numBuckets", "9", "maxDistance", "10",
                "bidirectional", "false"));
        // 4 exact buckets, then 4 + ⌊5·ln(d / 4) / ln 2.5⌋
        assertThat(causal.bucket(-9)).isEqualTo(8);
        assertThatThrownBy(() -> provider.create(Map.of("numBuckets", "1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.numBuckets = 1 is outside the valid range [2, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("numBuckets", "33")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.numBuckets = 33 must be even and at least 4 when bidirectional");
        assertThatThrownBy(() -> provider.create(Map.of("numBuckets", "2")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.numBuckets = 2 must be even and at least 4 when bidirectional");
        assertThatThrownBy(() -> provider.create(Map.of("maxDistance", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.maxDistance = 8 must exceed the 8 exact buckets per direction of "
                        + "numBuckets = 32 (bidirectional)");
        assertThatThrownBy(() -> provider.create(Map.of("maxDistance", "16", "bidirectional", "false")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.maxDistance = 16 must exceed the 16 exact buckets per direction of "
                        + "numBuckets = 32");
        assertThatThrownBy(() -> provider.create(Map.of("initStd", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("t5-bias.initStd = -1.0 is outside the valid range [0, +inf)");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new T5RelativePositionBiasProvider().descriptor();
        assertThat(d.name()).isEqualTo("t5-bias");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Raffel et al., 2020, Exploring the Limits of Transfer Learning with a "
                + "Unified Text-to-Text Transformer");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name, Hyperparameter::type,
                        Hyperparameter::defaultValue, Hyperparameter::range)
                .containsExactly(
                        tuple("numBuckets", "int", "32", "[2, +inf)"),
                        tuple("maxDistance", "int", "128", "[1, +inf)"),
                        tuple("bidirectional", "boolean", "true", ""),
                        tuple("initStd", "float", "0.02", "[0, +inf)"));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", true),
                entry("extrapolates", true), entry("learnable", true), entry("maximumLength", false),
                entry("rotatesQueryKey", false));
    }
}
