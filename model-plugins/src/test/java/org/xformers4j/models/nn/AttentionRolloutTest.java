package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

class AttentionRolloutTest {

    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int LENGTH = 5;
    /** Sample 0 has its last two of five tokens padded, sample 1 none. */
    private static final float[] PADDING = {0, 0, 0, 1, 1, 0, 0, 0, 0, 0};

    // ------------------------------------------------------------------ rollout on hand-made weights

    /**
     * Two layers, two heads, three tokens. Layer 1 averages to [[1/2, 1/4, 1/4], [1/2, 1/2, 0],
     * [1/4, 1/4, 1/2]], so Â₁ = [[3/4, 1/8, 1/8], [1/4, 3/4, 0], [1/8, 1/8, 3/4]]; layer 2 averages
     * to 1/2 off the diagonal, so Â₂ = [[1/2, 1/4, 1/4], [1/4, 1/2, 1/4], [1/4, 1/4, 1/2]].
     */
    private static List<Tensor> handMadeLayers() {
        Tensor layer1 = Tensor.of(new float[] {
            0.5f, 0.5f, 0, 0, 1, 0, 0.25f, 0.25f, 0.5f,              // head 0
            0.5f, 0, 0.5f, 1, 0, 0, 0.25f, 0.25f, 0.5f}, 1, 2, 3, 3);  // head 1
        Tensor layer2 = Tensor.of(new float[] {
            0, 1, 0, 0, 0, 1, 1, 0, 0,
            0, 0, 1, 1, 0, 0, 0, 1, 0}, 1, 2, 3, 3);
        return List.of(layer1, layer2);
    }

    @Test
    void rolloutIsTheProductOfTheResidualMixedHeadAverages() {
        double[][][] rollout = AttentionRollout.rollout(handMadeLayers());
        // Â₂ · Â₁ by hand
        double[][] expected = {
            {15 / 32.0, 9 / 32.0, 8 / 32.0},
            {11 / 32.0, 14 / 32.0, 7 / 32.0},
            {10 / 32.0, 9 / 32.0, 13 / 32.0}};
        assertThat(rollout).hasNumberOfRows(1);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertThat(rollout[0][i][j]).as("rollout[%d][%d]", i, j).isCloseTo(expected[i][j], offset(1e-12));
            }
        }
    }

    @Test
    void aFullyMaskedRowKeepsOnlyTheResidual() {
        Tensor layer = Tensor.of(new float[] {0, 0, 0, 0.5f, 0.5f, 0, 0.5f, 0, 0.5f}, 1, 1, 3, 3);
        double[][] rollout = AttentionRollout.rollout(List.of(layer))[0];
        assertThat(rollout[0]).containsExactly(1, 0, 0);
        assertThat(rollout[1]).containsExactly(0.25, 0.75, 0);
        assertThat(rollout[2]).containsExactly(0.25, 0, 0.75);
    }

    @Test
    void clsRelevanceIsTheClsRowOverTheInputTokens() {
        double[][] relevance = AttentionRollout.relevance(handMadeLayers(), 1, TransformerEncoder.Pooling.CLS, null);
        assertThat(relevance[0][0]).isCloseTo(9 / 17.0, offset(1e-12));     // 9/32 and 8/32, normalised
        assertThat(relevance[0][1]).isCloseTo(8 / 17.0, offset(1e-12));
    }

    @Test
    void meanRelevanceAveragesTheUnpaddedRowsAndZeroesPaddedTokens() {
        Tensor padding = Tensor.of(new float[] {0, 0, 1}, 1, 3);
        double[][] relevance = AttentionRollout.relevance(handMadeLayers(), 0, TransformerEncoder.Pooling.MEAN,
                padding);
        // rows 0 and 1: (15 + 11)/64 and (9 + 14)/64, normalised
        assertThat(relevance[0][0]).isCloseTo(26 / 49.0, offset(1e-12));
        assertThat(relevance[0][1]).isCloseTo(23 / 49.0, offset(1e-12));
        assertThat(relevance[0][2]).isZero();
    }

    @Test
    void mismatchedShapesAreRejectedNamingTheShapes() {
        List<Tensor> layers = List.of(Tensor.zeros(1, 2, 3, 3), Tensor.zeros(1, 2, 4, 4));
        assertThatThrownBy(() -> AttentionRollout.rollout(layers))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 1").hasMessageContaining("[1, 2, 4, 4]");
        assertThatThrownBy(() -> AttentionRollout.relevance(handMadeLayers(), 0, TransformerEncoder.Pooling.CLS, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefixLength 0");
        assertThatThrownBy(() -> AttentionRollout.relevance(handMadeLayers(), 1, TransformerEncoder.Pooling.CLS,
                Tensor.zeros(1, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPaddingMask").hasMessageContaining("[1, 2]");
    }

    // ------------------------------------------------------------------ through an encoder

    private static TransformerEncoder encoder(BlockConfig block, int layers, TransformerEncoder.Pooling pooling,
                                              int registers, long seed) {
        EncoderConfig config = EncoderConfig.builder(block, layers).pooling(pooling).numRegisterTokens(registers)
                .attentionDropout(0.5f).build();
        return new TransformerEncoder(config, () -> new FullAttention(0f), null, new SplittableRandom(seed));
    }

    /** Sets the parameters named in {@code values} (each filled with a function of its flat index). */
    private static void set(TransformerEncoder encoder, Map<String, IntToDoubleFunction> values) {
        Map<String, ParameterState> state = encoder.stateDict();
        values.forEach((name, value) -> {
            ParameterState s = state.get(name);
            assertThat(s).as("parameter %s", name).isNotNull();
            float[] v = new float[s.values().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) value.applyAsDouble(i);
            }
            state.put(name, new ParameterState(s.shape(), v));
        });
        encoder.loadStateDict(state);
    }

    private static double[] unpaddedShare(int sample) {
        int kept = 0;
        for (int i = 0; i < LENGTH; i++) {
            kept += PADDING[sample * LENGTH + i] == 0 ? 1 : 0;
        }
        double[] expected = new double[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            expected[i] = PADDING[sample * LENGTH + i] == 0 ? 1.0 / kept : 0;
        }
        return expected;
    }

    @ParameterizedTest(name = "{0} pooling, {1} registers")
    @CsvSource({"CLS, 0", "CLS, 2", "MEAN, 0", "MEAN, 1"})
    void uniformAttentionGivesEveryUnpaddedTokenTheSameRelevance(TransformerEncoder.Pooling pooling, int registers) {
        int layers = 2;
        TransformerEncoder encoder = encoder(BlockConfig.builder(DIM, HEADS).hidden(16).build(), layers, pooling,
                registers, 1);
        for (int l = 0; l < layers; l++) {                   // zero queries: every score 0, uniform attention
            set(encoder, Map.of("blocks." + l + ".attention.query.weight", i -> 0,
                    "blocks." + l + ".attention.query.bias", i -> 0));
        }
        Tensor embeddings = Tensor.randn(new SplittableRandom(2), 2, LENGTH, DIM);
        Tensor padding = Tensor.of(PADDING, 2, LENGTH);
        int prefix = encoder.prefixLength();
        int positions = prefix + LENGTH;

        List<Tensor> weights = encoder.attentionWeights(embeddings, padding);
        assertThat(weights).hasSize(layers);
        for (Tensor w : weights) {
            assertThat(w.shape()).containsExactly(2, HEADS, positions, positions);
            for (int b = 0; b < 2; b++) {
                double[] share = unpaddedShare(b);
                int kept = prefix + (int) Arrays.stream(share).filter(s -> s > 0).count();
                for (int h = 0; h < HEADS; h++) {
                    for (int i = 0; i < positions; i++) {
                        for (int j = 0; j < positions; j++) {
                            boolean padded = j >= prefix && share[j - prefix] == 0;
                            assertThat(w.get(b, h, i, j)).as("sample %d, head %d, query %d, key %d", b, h, i, j)
                                    .isCloseTo(padded ? 0f : 1f / kept, offset(1e-6f));
                        }
                    }
                }
            }
        }

        double[][] relevance = AttentionRollout.relevance(encoder, embeddings, padding);
        for (int b = 0; b < 2; b++) {
            assertThat(relevance[b]).as("sample %d", b).containsExactly(unpaddedShare(b), offset(1e-6));
        }
    }

    /**
     * One layer whose every query is c·p, p = (1, -1, 1, -1, …), and whose keys are the normed
     * inputs: token 1 is p and every other token, the CLS token included, is -p, so every
     * position attends to token 1 alone (scores +2c against -2c per head).
     */
    private static TransformerEncoder focusedOnToken1(TransformerEncoder.Pooling pooling) {
        TransformerEncoder encoder = encoder(BlockConfig.builder(DIM, HEADS).hidden(16).build(), 1, pooling, 0, 3);
        IntToDoubleFunction p = i -> i % 2 == 0 ? 1 : -1;
        set(encoder, Map.of(
                "blocks.0.attention.query.weight", i -> 0,
                "blocks.0.attention.query.bias", i -> 5 * p.applyAsDouble(i),
                "blocks.0.attention.key.weight", i -> i / DIM == i % DIM ? 1 : 0,
                "blocks.0.attention.key.bias", i -> 0));
        if (pooling == TransformerEncoder.Pooling.CLS) {
            set(encoder, Map.of("clsToken", i -> -p.applyAsDouble(i)));
        }
        return encoder;
    }

    private static Tensor focusedInput() {
        float[] x = new float[2 * LENGTH * DIM];
        for (int i = 0; i < x.length; i++) {
            int token = i / DIM % LENGTH;
            x[i] = (token == 1 ? 1 : -1) * (i % 2 == 0 ? 1 : -1);
        }
        return Tensor.of(x, 2, LENGTH, DIM);
    }

    @Test
    void clsRelevanceFollowsTheAttendedToken() {
        TransformerEncoder encoder = focusedOnToken1(TransformerEncoder.Pooling.CLS);
        double[][] relevance = AttentionRollout.relevance(encoder, focusedInput(), Tensor.of(PADDING, 2, LENGTH));
        for (int b = 0; b < 2; b++) {
            assertThat(relevance[b]).as("sample %d", b).containsExactly(new double[] {0, 1, 0, 0, 0}, offset(1e-6));
        }
    }

    @Test
    void meanRelevanceAddsTheAttendedTokenToEachTokensResidual() {
        TransformerEncoder encoder = focusedOnToken1(TransformerEncoder.Pooling.MEAN);
        double[][] relevance = AttentionRollout.relevance(encoder, focusedInput(), Tensor.of(PADDING, 2, LENGTH));
        // row i of Â is 0.5·e₁ + 0.5·e_i; the mean over n unpadded rows gives token 1 0.5 + 0.5/n, the others 0.5/n
        assertThat(relevance[0]).containsExactly(new double[] {1 / 6.0, 2 / 3.0, 1 / 6.0, 0, 0}, offset(1e-6));
        assertThat(relevance[1]).containsExactly(new double[] {0.1, 0.6, 0.1, 0.1, 0.1}, offset(1e-6));
    }

    @Test
    void attentionWeightsRunInEvaluationModeAndRestoreTraining() {
        TransformerEncoder encoder = encoder(BlockConfig.builder(DIM, HEADS).hidden(16).residualDropout(0.5f)
                .build(), 2, TransformerEncoder.Pooling.CLS, 1, 4);
        Tensor embeddings = Tensor.randn(new SplittableRandom(5), 2, LENGTH, DIM);
        encoder.train();
        List<Tensor> training = encoder.attentionWeights(embeddings, null);
        assertThat(encoder.isTraining()).isTrue();
        encoder.eval();
        List<Tensor> evaluation = encoder.attentionWeights(embeddings, null);
        assertThat(encoder.isTraining()).isFalse();
        for (int l = 0; l < 2; l++) {
            assertThat(training.get(l).toFloatArray()).as("layer %d", l).containsExactly(evaluation.get(l).toFloatArray());
            assertThat(training.get(l).requiresGrad()).isFalse();
        }
        double[][] relevance = AttentionRollout.relevance(encoder, embeddings, null);
        for (double[] r : relevance) {
            assertThat(Arrays.stream(r).sum()).isCloseTo(1.0, offset(1e-9));
            for (double v : r) {
                assertThat(v).isPositive();
            }
        }
    }

    // ------------------------------------------------------------------ a block's attention input

    @ParameterizedTest
    @EnumSource(value = NormPlacement.class)
    void blockWeightsAreTheAttentionOnTheInputItsSublayerSees(NormPlacement placement) {
        SplittableRandom rng = new SplittableRandom(6);
        TransformerBlock block = new TransformerBlock(BlockConfig.builder(DIM, HEADS).hidden(16).placement(placement)
                .build(), new FullAttention(0f), null, rng);
        Tensor x = Tensor.randn(rng, 2, LENGTH, DIM).mul(3f).add(1f);
        AttentionContext context = AttentionContext.builder().keyPaddingMask(Tensor.of(PADDING, 2, LENGTH)).build();
        Map<String, Tensor> parameters = block.namedParameters();
        Tensor sublayerInput = placement == NormPlacement.POST ? x
                : Functional.layerNorm(x, parameters.get("attentionNorm.weight"), parameters.get("attentionNorm.bias"),
                        1e-5f);
        assertThat(block.attentionWeights(x, context).toFloatArray())
                .containsExactly(block.attention().attentionWeights(sublayerInput, context).toFloatArray(),
                        offset(1e-6f));
    }
}
