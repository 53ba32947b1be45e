package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

class MultiHeadAttentionWeightsTest {

    private static final int DIM = 8;
    private static final int BATCH = 2;
    private static final int LENGTH = 4;
    /** Sample 0 has keys 1 and 3 padded, sample 1 none. */
    private static final float[] PADDING = {0, 1, 0, 1, 0, 0, 0, 0};

    private static AttentionContext context(boolean causal, boolean padded) {
        return AttentionContext.builder().causal(causal)
                .keyPaddingMask(padded ? Tensor.of(PADDING, BATCH, LENGTH) : null).build();
    }

    private static MultiHeadAttention layer(int heads, int group, boolean positional, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        PositionalEncoding encoding = positional ? new MultiHeadAttentionTest.RotaryAlibi() : null;
        MultiHeadAttention mha = new MultiHeadAttention(DIM, heads, new TestSoftmaxAttention(group), encoding, true, rng);
        NnReference.randomize(mha, rng, 0.5f);
        return mha;
    }

    /** The projection {@code name} of the layer applied to x [B, L, DIM]: x Wᵀ + b. */
    private static Tensor project(Map<String, Tensor> parameters, String name, Tensor x) {
        return x.matmul(parameters.get(name + ".weight"), false, true).add(parameters.get(name + ".bias"));
    }

    @Test
    void aMechanismThatDoesNotReportWeightsIsRefusedByName() {
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new MultiHeadAttentionTest.Limited(), null, true,
                new SplittableRandom(1));
        assertThat(mha.reportsWeights()).isFalse();
        assertThat(layer(2, 1, false, 1).reportsWeights()).isTrue();
        assertThatThrownBy(() -> mha.attentionWeights(Tensor.randn(new SplittableRandom(2), BATCH, LENGTH, DIM),
                AttentionContext.none())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("does not report attention weights");
    }

    @ParameterizedTest(name = "heads {0}, group {1}, rotary and bias {2}, causal {3}, padded {4}")
    @CsvSource({"2, 1, false, false, false", "2, 1, false, false, true", "2, 1, true, true, false",
            "4, 2, true, false, true", "4, 4, false, true, true"})
    void weightsTimesValuesReproduceTheExactMechanism(int heads, int group, boolean positional, boolean causal,
                                                      boolean padded) {
        MultiHeadAttention mha = layer(heads, group, positional, 11 + heads + group);
        Tensor x = Tensor.randn(new SplittableRandom(3), BATCH, LENGTH, DIM);
        AttentionContext context = context(causal, padded);
        Tensor weights = mha.attentionWeights(x, context);
        assertThat(weights.shape()).containsExactly(BATCH, heads, LENGTH, LENGTH);

        Map<String, Tensor> parameters = mha.namedParameters();
        int headDim = DIM / heads;
        int keyValueHeads = heads / group;
        int[] shared = new int[heads];
        for (int h = 0; h < heads; h++) {
            shared[h] = h / group;
        }
        Tensor v = project(parameters, "value", x).reshape(BATCH, LENGTH, keyValueHeads, headDim).transpose(1, 2)
                .indexSelect(1, shared);                                                 // [B, H, L, headDim]
        Tensor merged = weights.matmul(v).transpose(1, 2).reshape(BATCH, LENGTH, DIM);   // [B, L, DIM]
        float[] expected;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            expected = mha.selfAttention(x, context).toFloatArray();
        }
        float[] actual = project(parameters, "output", merged).toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("output element %d", i).isCloseTo(expected[i], within(1e-5f));
        }
        assertThat(weights.requiresGrad()).isFalse();
    }

    @ParameterizedTest(name = "causal {0}, padded {1}")
    @CsvSource({"false, false", "false, true", "true, false", "true, true"})
    void rowsSumToOneWithPaddedAndFutureKeysAtZero(boolean causal, boolean padded) {
        int heads = 2;
        MultiHeadAttention mha = layer(heads, 1, true, 21);
        float[] w = mha.attentionWeights(Tensor.randn(new SplittableRandom(4), BATCH, LENGTH, DIM),
                context(causal, padded)).toFloatArray();
        for (int b = 0; b < BATCH; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < LENGTH; i++) {
                    double sum = 0;
                    for (int j = 0; j < LENGTH; j++) {
                        float weight = w[((b * heads + h) * LENGTH + i) * LENGTH + j];
                        boolean masked = padded && PADDING[b * LENGTH + j] != 0 || causal && j > i;
                        if (masked) {
                            assertThat(weight).as("weight of masked key %d for query %d, sample %d, head %d", j, i, b, h)
                                    .isZero();
                        } else {
                            assertThat(weight).as("weight of key %d for query %d", j, i).isPositive();
                        }
                        sum += weight;
                    }
                    assertThat(sum).as("row %d of sample %d, head %d", i, b, h).isCloseTo(1.0, within(1e-5));
                }
            }
        }
    }

    @ParameterizedTest(name = "bias {0}")
    @CsvSource({"-1e9", "-3.4028235e38"})
    void aHugeNegativeBiasOnTheVisibleKeysLeavesTheMaskedKeysAtZero(float huge) {
        // Hugging Face's additive padding mask on every key a query may see, 0 on padded and future keys
        float[] bias = new float[BATCH * LENGTH * LENGTH];
        for (int b = 0; b < BATCH; b++) {
            for (int i = 0; i < LENGTH; i++) {
                for (int j = 0; j < LENGTH; j++) {
                    boolean masked = PADDING[b * LENGTH + j] != 0 || j > i;
                    bias[(b * LENGTH + i) * LENGTH + j] = masked ? 0f : huge;
                }
            }
        }
        AttentionContext context = AttentionContext.builder().causal(true)
                .keyPaddingMask(Tensor.of(PADDING, BATCH, LENGTH)).bias(Tensor.of(bias, BATCH, 1, LENGTH, LENGTH))
                .build();
        float[] w = layer(2, 1, false, 31).attentionWeights(Tensor.randn(new SplittableRandom(5), BATCH, LENGTH, DIM),
                context).toFloatArray();
        for (int row = 0; row < BATCH * 2 * LENGTH; row++) {
            int b = row / (2 * LENGTH);
            int i = row % LENGTH;
            double sum = 0;
            for (int j = 0; j < LENGTH; j++) {
                float weight = w[row * LENGTH + j];
                if (PADDING[b * LENGTH + j] != 0 || j > i) {
                    assertThat(weight).as("weight of masked key %d for query %d, sample %d", j, i, b).isZero();
                }
                sum += weight;
            }
            assertThat(sum).as("row %d", row).isCloseTo(1.0, within(1e-5));
        }
    }
}
