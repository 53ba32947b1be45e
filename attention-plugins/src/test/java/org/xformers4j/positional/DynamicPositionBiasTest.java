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

class DynamicPositionBiasTest {

    private static DynamicPositionBias dynamic(int hidden, int depth, boolean logDistance, int heads) {
        DynamicPositionBias pe = new DynamicPositionBias(hidden, depth, logDistance);
        pe.initialize(8 * heads, heads, new SplittableRandom(hidden + depth));
        return pe;
    }

    /** y = W x + b for W [out, in] row-major. */
    private static double[] linear(double[] x, double[] weight, double[] bias) {
        double[] y = new double[bias.length];
        for (int o = 0; o < y.length; o++) {
            y[o] = bias[o];
            for (int i = 0; i < x.length; i++) {
                y[o] += weight[o * x.length + i] * x[i];
            }
        }
        return y;
    }

    /**
     * The bias in double from the parameters {mlp0.weight, mlp0.bias, …, mlp<depth>.bias}:
     * bias[h, t, j] = MLP(f(j - (queryOffset + t)))[h], hidden layers Linear then SiLU, x·σ(x).
     */
    private static double[] reference(double[][] params, int depth, boolean logDistance, int heads, int queryLength,
                                      int keyLength, int queryOffset) {
        double[] out = new double[heads * queryLength * keyLength];
        for (int t = 0; t < queryLength; t++) {
            for (int j = 0; j < keyLength; j++) {
                int d = j - (queryOffset + t);
                double[] a = {logDistance ? Math.signum(d) * Math.log(1 + Math.abs(d)) : d};
                for (int l = 0; l < depth; l++) {
                    a = linear(a, params[2 * l], params[2 * l + 1]);
                    for (int i = 0; i < a.length; i++) {
                        a[i] = a[i] / (1 + Math.exp(-a[i]));
                    }
                }
                double[] y = linear(a, params[2 * depth], params[2 * depth + 1]);
                for (int h = 0; h < heads; h++) {
                    out[(h * queryLength + t) * keyLength + j] = y[h];
                }
            }
        }
        return out;
    }

    @Test
    void gradientsReachTheMlp() {
        int heads = 2;
        int queryLength = 3;
        int keyLength = 5;
        int queryOffset = 2;
        for (boolean logDistance : new boolean[] {false, true}) {
            for (int depth : new int[] {1, 2}) {
                DynamicPositionBias pe = dynamic(3, depth, logDistance, heads);
                Tensor[] params = pe.parameters().toArray(new Tensor[0]);
                assertThat(params).hasSize(2 * (depth + 1));
                GradCheck.of("dynamic-bias", in -> pe.attentionBias(heads, queryLength, keyLength, queryOffset),
                        ref -> reference(ref, depth, logDistance, heads, queryLength, keyLength, queryOffset),
                        params).check();
            }
        }
    }

    @Test
    void biasDependsOnlyOnKeyMinusQuery() {
        DynamicPositionBias pe = dynamic(8, 2, true, 4);
        Tensor square = pe.attentionBias(4, 8, 8, 0);
        for (int h = 0; h < 4; h++) {
            for (int t = 0; t + 1 < 8; t++) {
                for (int j = 0; j + 1 < 8; j++) {
                    assertThat(square.get(0, h, t + 1, j + 1)).as("head %d, query %d, key %d", h, t, j)
                            .isEqualTo(square.get(0, h, t, j));
                }
            }
        }
        // shift the queries and keys by 4 together: the same bias
        Tensor near = pe.attentionBias(4, 2, 6, 4);
        Tensor shifted = pe.attentionBias(4, 2, 10, 8);
        for (int h = 0; h < 4; h++) {
            for (int t = 0; t < 2; t++) {
                for (int j = 0; j < 6; j++) {
                    assertThat(shifted.get(0, h, t, j + 4)).as("head %d, query %d, key %d", h, 4 + t, j)
                            .isCloseTo(near.get(0, h, t, j), within(1e-6f));
                }
            }
        }
    }

    @Test
    void queryOffsetsSelectLaterRows() {
        DynamicPositionBias pe = dynamic(8, 2, false, 2);
        Tensor whole = pe.attentionBias(2, 9, 9, 0);
        Tensor rows = pe.attentionBias(2, 3, 9, 6);
        assertThat(rows.shape()).containsExactly(1, 2, 3, 9);
        float[] expected = whole.narrow(2, 6, 3).toFloatArray();
        float[] actual = rows.toFloatArray();
        for (int e = 0; e < actual.length; e++) {
            assertThat(actual[e]).as("element %d", e).isCloseTo(expected[e], within(1e-6f));
        }
    }

    @Test
    void worksAtLengthsLongerThanAnySeen() {
        for (boolean logDistance : new boolean[] {false, true}) {
            DynamicPositionBias pe = dynamic(8, 2, logDistance, 2);
            Tensor trained = pe.attentionBias(2, 16, 16, 0);
            Tensor longer = pe.attentionBias(2, 300, 300, 0);
            assertThat(longer.shape()).containsExactly(1, 2, 300, 300);
            for (float v : longer.toFloatArray()) {
                assertThat(v).isFinite();
            }
            for (int h = 0; h < 2; h++) {
                for (int t = 0; t < 16; t++) {
                    for (int j = 0; j < 16; j++) {
                        assertThat(longer.get(0, h, t, j)).isCloseTo(trained.get(0, h, t, j), within(1e-5f));
                    }
                }
            }
            // one decoding step at position 5000 against the MLP run on that distance alone
            Tensor step = pe.attentionBias(2, 1, 5001, 5000);
            Tensor single = pe.attentionBias(2, 1, 1, 0);
            assertThat(step.get(0, 1, 0, 5000)).isCloseTo(single.get(0, 1, 0, 0), within(1e-5f));
            double[][] params = pe.parameters().stream().map(p -> {
                float[] f = p.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                return d;
            }).toArray(double[][]::new);
            double far = reference(params, 2, logDistance, 2, 1, 1, 5000)[1];
            assertThat((double) step.get(0, 1, 0, 0)).isCloseTo(far, within(1e-4 * (1 + Math.abs(far))));
        }
    }

    @Test
    void layersAreTheModulesParameters() {
        int hidden = 32;
        int heads = 8;
        DynamicPositionBias pe = dynamic(hidden, 2, false, heads);
        assertThat(pe.namedParameters()).containsOnlyKeys("mlp0.weight", "mlp0.bias", "mlp1.weight", "mlp1.bias",
                "mlp2.weight", "mlp2.bias");
        assertThat(pe.namedParameters().get("mlp0.weight").shape()).containsExactly(hidden, 1);
        assertThat(pe.namedParameters().get("mlp1.weight").shape()).containsExactly(hidden, hidden);
        assertThat(pe.namedParameters().get("mlp2.weight").shape()).containsExactly(heads, hidden);
        assertThat(pe.parameterCount()).isEqualTo(2L * hidden + (long) hidden * hidden + hidden
                + (long) heads * hidden + heads);
        assertThatThrownBy(() -> pe.initialize(64, 8, new SplittableRandom(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("dynamic-bias: already initialized with 8 heads");
    }

    @Test
    void checksInitializationHeadsAndArguments() {
        DynamicPositionBias pe = new DynamicPositionBias(4, 1, false);
        assertThat(pe.namedParameters()).isEmpty();
        assertThatThrownBy(() -> pe.attentionBias(2, 2, 2, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("dynamic-bias: initialize(modelDim, heads, rng) must be called before use");
        pe.initialize(8, 2, new SplittableRandom(3));
        assertThatThrownBy(() -> pe.attentionBias(3, 2, 2, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dynamic-bias: asked for a bias for 3 heads but was initialized with 2 heads");
        assertThatThrownBy(() -> pe.attentionBias(2, 2, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dynamic-bias: queryLength and keyLength must be positive, got 2 and 0");
    }

    @Test
    void worksThroughMultiHeadAttentionWithFullAndFlash() {
        BiasEndToEnd.check(dynamic(4, 2, true, 4), 4);
        BiasEndToEnd.check(dynamic(4, 1, false, 2), 2);
    }

    @Test
    void providerConfiguresAndValidates() {
        DynamicPositionBiasProvider provider = new DynamicPositionBiasProvider();
        DynamicPositionBias defaults = provider.create(Map.of());
        assertThat(defaults.hidden()).isEqualTo(32);
        assertThat(defaults.depth()).isEqualTo(2);
        assertThat(defaults.logDistance()).isFalse();
        DynamicPositionBias configured = provider.create(Map.of("hidden", "5", "depth", "3", "logDistance", "true"));
        configured.initialize(8, 2, new SplittableRandom(4));
        assertThat(configured.namedParameters()).hasSize(8);
        assertThat(configured.logDistance()).isTrue();
        assertThatThrownBy(() -> provider.create(Map.of("hidden", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("dynamic-bias.hidden = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("depth", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("dynamic-bias.depth = 0 is outside the valid range [1, +inf)");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new DynamicPositionBiasProvider().descriptor();
        assertThat(d.name()).isEqualTo("dynamic-bias");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Wang et al., 2022, CrossFormer: A Versatile Vision Transformer Hinging "
                + "on Cross-scale Attention");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name, Hyperparameter::type,
                        Hyperparameter::defaultValue, Hyperparameter::range)
                .containsExactly(tuple("hidden", "int", "32", "[1, +inf)"), tuple("depth", "int", "2", "[1, +inf)"),
                        tuple("logDistance", "boolean", "false", ""));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", true),
                entry("extrapolates", true), entry("learnable", true), entry("maximumLength", false),
                entry("rotatesQueryKey", false));
    }
}
