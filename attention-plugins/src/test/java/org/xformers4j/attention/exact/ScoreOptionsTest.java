package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.attention.hashing.LshAttentionProvider;
import org.xformers4j.attention.local.LocalAttentionProvider;
import org.xformers4j.attention.local.SlidingWindowAttentionProvider;
import org.xformers4j.component.ProviderWithDefaults;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

/**
 * The options of {@code full} that act on its score matrix, talking heads (Shazeer et al., 2020)
 * and explicit top-k (Zhao et al., 2019), against an independent float64 implementation of both,
 * with causal order, key padding and a bias (-∞ entries included), their gradients against its
 * finite differences, and their refusal by the mechanisms that never form the scores.
 */
class ScoreOptionsTest {

    private static final int BATCH = 2;
    private static final int HEADS = 3;
    private static final int KEYS = 7;
    private static final int DIM = 4;
    private static final int VALUE_DIM = 3;

    /** One problem: lengths, the masks and the options; batch element 1 has its last 2 keys padded. */
    private record Case(int queryLength, boolean causal, boolean padded, boolean bias, boolean talkingHeads, int topK) {

        Map<String, String> options() {
            return Map.of("talkingHeads", Boolean.toString(talkingHeads), "topK", Integer.toString(topK));
        }

        boolean isPadded(int b, int j) {
            return padded && b == 1 && j >= KEYS - 2;
        }

        AttentionContext context(Tensor biasTensor) {
            float[] mask = new float[BATCH * KEYS];
            for (int j = 0; j < KEYS; j++) {
                mask[KEYS + j] = isPadded(1, j) ? 1f : 0f;
            }
            return AttentionContext.builder().causal(causal).bias(biasTensor)
                    .keyPaddingMask(padded ? Tensor.of(mask, BATCH, KEYS) : null).build();
        }

        /** q, k, v and, with a bias, the bias [B, H, Lq, Lk] with -∞ on key 0 of head 0 (a mask of one head). */
        Tensor[] inputs(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            Tensor q = GradCheck.input(rng, BATCH, HEADS, queryLength, DIM);
            Tensor k = GradCheck.input(rng, BATCH, HEADS, KEYS, DIM);
            Tensor v = GradCheck.input(rng, BATCH, HEADS, KEYS, VALUE_DIM);
            if (!bias) {
                return new Tensor[] {q, k, v};
            }
            float[] b = Tensor.randn(rng, BATCH, HEADS, queryLength, KEYS).toFloatArray();
            for (int e = 0; e < BATCH * queryLength; e++) {
                int batch = e / queryLength;
                b[(batch * HEADS * queryLength + e % queryLength) * KEYS] = Float.NEGATIVE_INFINITY;
            }
            return new Tensor[] {q, k, v, Tensor.of(b, BATCH, HEADS, queryLength, KEYS).requiresGrad(true)};
        }

        /**
         * The float64 reference: s = Pl · (q kᵀ / sqrt(D)) across heads + bias, masked keys -∞, only
         * scores >= the row's k-th largest kept, softmax (zeros for a row of -∞), w = Pw · p across
         * heads, 0 where head h's score is -∞; out = w v. {@code in}: q, k, v, [bias], Pl, Pw.
         */
        double[] reference(double[][] in, boolean weightsOnly) {
            double[] q = in[0];
            double[] k = in[1];
            double[] v = in[2];
            double[] biasValues = bias ? in[3] : null;
            double[] pl = talkingHeads ? in[in.length - 2] : identity();
            double[] pw = talkingHeads ? in[in.length - 1] : identity();
            int lq = queryLength;
            double[] out = new double[BATCH * HEADS * lq * (weightsOnly ? KEYS : VALUE_DIM)];
            for (int b = 0; b < BATCH; b++) {
                for (int i = 0; i < lq; i++) {
                    double[][] raw = new double[HEADS][KEYS];
                    for (int g = 0; g < HEADS; g++) {
                        for (int j = 0; j < KEYS; j++) {
                            for (int d = 0; d < DIM; d++) {
                                raw[g][j] += q[((b * HEADS + g) * lq + i) * DIM + d] * k[((b * HEADS + g) * KEYS + j) * DIM + d];
                            }
                            raw[g][j] /= Math.sqrt(DIM);
                        }
                    }
                    double[][] scores = new double[HEADS][KEYS];
                    double[][] p = new double[HEADS][];
                    for (int h = 0; h < HEADS; h++) {
                        for (int j = 0; j < KEYS; j++) {
                            for (int g = 0; g < HEADS; g++) {
                                scores[h][j] += pl[h * HEADS + g] * raw[g][j];
                            }
                            scores[h][j] += biasValues == null ? 0 : biasValues[((b * HEADS + h) * lq + i) * KEYS + j];
                            boolean future = causal && j > KEYS - lq + i;
                            if (isPadded(b, j) || future) {
                                scores[h][j] = Double.NEGATIVE_INFINITY;
                            }
                        }
                        if (topK > 0) {
                            double[] sorted = scores[h].clone();
                            Arrays.sort(sorted);
                            double kth = sorted[Math.max(0, KEYS - topK)];
                            for (int j = 0; j < KEYS; j++) {
                                scores[h][j] = scores[h][j] < kth ? Double.NEGATIVE_INFINITY : scores[h][j];
                            }
                        }
                        p[h] = softmax(scores[h]);
                    }
                    for (int h = 0; h < HEADS; h++) {
                        for (int j = 0; j < KEYS; j++) {
                            double w = 0;
                            for (int g = 0; g < HEADS; g++) {
                                w += pw[h * HEADS + g] * p[g][j];
                            }
                            w = scores[h][j] == Double.NEGATIVE_INFINITY ? 0 : w;
                            int row = (b * HEADS + h) * lq + i;
                            if (weightsOnly) {
                                out[row * KEYS + j] = w;
                                continue;
                            }
                            for (int d = 0; d < VALUE_DIM; d++) {
                                out[row * VALUE_DIM + d] += w * v[((b * HEADS + h) * KEYS + j) * VALUE_DIM + d];
                            }
                        }
                    }
                }
            }
            return out;
        }

        private static double[] softmax(double[] s) {
            double max = Arrays.stream(s).max().orElseThrow();
            double[] e = new double[s.length];
            if (max == Double.NEGATIVE_INFINITY) {
                return e;
            }
            double sum = 0;
            for (int j = 0; j < s.length; j++) {
                e[j] = Math.exp(s[j] - max);
                sum += e[j];
            }
            for (int j = 0; j < s.length; j++) {
                e[j] /= sum;
            }
            return e;
        }

        private static double[] identity() {
            double[] eye = new double[HEADS * HEADS];
            for (int h = 0; h < HEADS; h++) {
                eye[h * HEADS + h] = 1;
            }
            return eye;
        }
    }

    /** full with the case's options, initialised for {@link #HEADS} heads, mixing matrices drawn around the identity. */
    private static FullAttention full(Case c, long seed) {
        FullAttention full = new FullAttentionProvider().create(c.options());
        SplittableRandom rng = new SplittableRandom(seed);
        full.initialize(HEADS, DIM, rng);
        for (Tensor mixing : full.parameters()) {
            float[] values = mixing.toFloatArray();
            for (int e = 0; e < values.length; e++) {
                values[e] += (float) rng.nextDouble(-0.6, 0.6);
            }
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                mixing.copyFrom(values);
            }
        }
        return full;
    }

    private static double[][] values(List<Tensor> tensors) {
        double[][] out = new double[tensors.size()][];
        for (int t = 0; t < out.length; t++) {
            float[] f = tensors.get(t).toFloatArray();
            out[t] = new double[f.length];
            for (int e = 0; e < f.length; e++) {
                out[t][e] = f[e];
            }
        }
        return out;
    }

    private static List<Tensor> all(Tensor[] inputs, FullAttention full) {
        List<Tensor> all = new java.util.ArrayList<>(List.of(inputs));
        all.addAll(full.parameters());
        return all;
    }

    @ParameterizedTest(name = "Lq {0}, causal {1}, padded {2}, bias {3}, talking heads {4}, top-k {5}")
    @CsvSource({"7, false, false, false, true, 0", "7, true, true, true, true, 0", "7, false, false, false, false, 3",
            "7, true, true, true, false, 3", "7, true, true, true, true, 2", "4, true, true, true, true, 3",
            "7, false, true, true, true, 1", "7, false, false, true, false, 7",
            "4, true, true, false, true, 0"})
    void forwardAndWeightsMatchTheFloat64Reference(int queryLength, boolean causal, boolean padded, boolean bias,
                                                   boolean talkingHeads, int topK) {
        Case c = new Case(queryLength, causal, padded, bias, talkingHeads, topK);
        FullAttention full = full(c, 3);
        Tensor[] in = c.inputs(11);
        AttentionContext context = c.context(bias ? in[3] : null);
        double[][] values = values(all(in, full));
        float[] out;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            out = full.forward(in[0], in[1], in[2], context).toFloatArray();
        }
        float[] weights = full.attentionWeights(in[0], in[1], context).toFloatArray();
        double[] expectedOut = c.reference(values, false);
        double[] expectedWeights = c.reference(values, true);
        for (int e = 0; e < out.length; e++) {
            assertThat((double) out[e]).as("output %d", e).isCloseTo(expectedOut[e], within(1e-5));
        }
        for (int e = 0; e < weights.length; e++) {
            assertThat((double) weights[e]).as("weight %d", e).isCloseTo(expectedWeights[e], within(1e-6));
            if (expectedWeights[e] == 0) {
                assertThat(weights[e]).as("weight %d of a masked or unselected key", e).isZero();
            }
        }
    }

    @ParameterizedTest(name = "causal {0}, talking heads {1}, top-k {2}")
    @CsvSource({"true, true, 0", "false, false, 3", "true, true, 3"})
    void gradientsOfInputsBiasAndMixingMatchFiniteDifferencesOfTheFloat64Reference(boolean causal,
                                                                                   boolean talkingHeads, int topK) {
        Case c = new Case(KEYS, causal, true, true, talkingHeads, topK);
        FullAttention full = full(c, 5);
        Tensor[] in = c.inputs(13);
        // the -∞ of the bias has no finite difference: check a finite bias here
        Tensor bias = Tensor.randn(new SplittableRandom(17), BATCH, HEADS, KEYS, KEYS).requiresGrad(true);
        Tensor[] inputs = {in[0], in[1], in[2], bias};
        List<Tensor> checked = all(inputs, full);
        GradientCheck.Result result = GradientCheck.of("full " + c.options(),
                t -> full.forward(t[0], t[1], t[2], c.context(t[3])),
                values -> c.reference(values, false), checked.toArray(Tensor[]::new)).run();
        assertThat(result.passed()).as(result.detail()).isTrue();
        if (talkingHeads) {
            assertThat(full.namedParameters()).containsOnlyKeys("logitMixing", "weightMixing");
            assertThat(full.namedParameters().values()).allSatisfy(p -> assertThat(p.grad()).isNotNull());
        }
    }

    @Test
    void freshTalkingHeadsAreTheIdentityTrainedAndSavedByTheLayerAndNotHeadIndependent() {
        FullAttention talking = new FullAttentionProvider().create(Map.of("talkingHeads", "true"));
        assertThat(talking.headsIndependent()).isFalse();
        assertThat(new FullAttention(0f).headsIndependent()).isTrue();
        SplittableRandom rng = new SplittableRandom(2);
        MultiHeadAttention layer = new MultiHeadAttention(12, HEADS, talking, null, true, rng);
        assertThat(layer.namedParameters()).containsKeys("mechanism.logitMixing", "mechanism.weightMixing");
        assertThat(layer.stateDict()).containsKeys("mechanism.logitMixing", "mechanism.weightMixing");
        assertThat(talking.namedParameters().get("logitMixing").toFloatArray())
                .containsExactly(1, 0, 0, 0, 1, 0, 0, 0, 1);
        Tensor q = Tensor.randn(rng, 2, HEADS, 5, 4);
        Tensor k = Tensor.randn(rng, 2, HEADS, 5, 4);
        Tensor v = Tensor.randn(rng, 2, HEADS, 5, 4);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        assertThat(talking.forward(q, k, v, causal).toFloatArray())
                .containsExactly(new FullAttention(0f).forward(q, k, v, causal).toFloatArray());
        assertThatThrownBy(() -> new MultiHeadAttention(12, HEADS,
                new FullAttentionProvider().create(Map.of("talkingHeads", "true")), null, true, true, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("headsIndependent");
        assertThatThrownBy(() -> talking.forward(Tensor.randn(rng, 1, 2, 5, 4), Tensor.randn(rng, 1, 2, 5, 4),
                Tensor.randn(rng, 1, 2, 5, 4), AttentionContext.none())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("talkingHeads mixes the 3 heads");
    }

    @Test
    void topKKeepsTheKLargestScoresAndEveryTieAtTheKth() {
        FullAttention top2 = new FullAttentionProvider().create(Map.of("topK", "2"));
        SplittableRandom rng = new SplittableRandom(4);
        Tensor q = Tensor.randn(rng, 1, 1, 6, 4);
        Tensor k = Tensor.randn(rng, 1, 1, 6, 4);
        float[] w = top2.attentionWeights(q, k, AttentionContext.none()).toFloatArray();
        float[] scores = q.matmul(k, false, true).toFloatArray();
        for (int i = 0; i < 6; i++) {
            float[] row = Arrays.copyOfRange(scores, i * 6, i * 6 + 6);
            float[] sorted = row.clone();
            Arrays.sort(sorted);
            for (int j = 0; j < 6; j++) {
                assertThat(w[i * 6 + j] > 0).as("query %d key %d kept", i, j).isEqualTo(row[j] >= sorted[4]);
            }
        }
        // equal scores: all tie at the k-th largest and all are kept, whatever their order
        Tensor zeros = Tensor.zeros(1, 1, 3, 4);
        assertThat(top2.attentionWeights(zeros, Tensor.randn(rng, 1, 1, 5, 4), AttentionContext.none())
                .toFloatArray()).containsOnly(0.2f);
    }

    @Test
    void mechanismsThatNeverFormTheScoresRefuseTheScoreOptionsPointingToFull() {
        assertThatThrownBy(() -> new FlashAttentionProvider().create(Map.of("talkingHeads", "true")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("flash does not support talkingHeads = true").hasMessageContaining("use full");
        assertThatThrownBy(() -> new FlashAttentionProvider().create(Map.of("topK", "4")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("flash does not support topK = 4")
                .hasMessageContaining("use full");
        assertThatThrownBy(() -> new LocalAttentionProvider().create(Map.of("topK", "4")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("local does not support topK");
        assertThatThrownBy(() -> new SlidingWindowAttentionProvider().create(Map.of("talkingHeads", "true")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("sliding-window does not support");
        assertThatThrownBy(() -> new LshAttentionProvider().create(Map.of("topK", "1")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("lsh does not support topK");
        assertThatThrownBy(() -> new FullAttentionProvider().create(Map.of("topK", "-1")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("full.topK = -1");
    }

    /** A fresh talking-heads layer is plain attention with parameters: the whole suite applies, parameter gradients included. */
    @Test
    void talkingHeadsPassTheConformanceSuite() {
        List<CheckResult> results = AttentionConformance.run(ProviderWithDefaults.of(new FullAttentionProvider(),
                Map.of("talkingHeads", "true")));
        assertThat(results).extracting(CheckResult::check).contains("matches-full", "gradient-parameters",
                "incremental-decoding", "cached-generation", "weights-reproduce-output");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }

    /**
     * Top-k is not softmax attention over every key, so the checks against float64 softmax
     * attention fail it; every other check (leakage, padding, masked rows, decoding, weights) passes.
     */
    @Test
    void topKPassesEveryConformanceCheckButTheComparisonsWithFullSoftmax() {
        List<CheckResult> results = AttentionConformance.run(ProviderWithDefaults.of(new FullAttentionProvider(),
                Map.of("topK", "3")));
        List<String> againstSoftmax = List.of("matches-full", "gradient-inputs", "large-score-gradients",
                "huge-negative-bias");
        assertThat(results).filteredOn(r -> !r.passed()).extracting(CheckResult::check)
                .isSubsetOf(againstSoftmax).contains("matches-full");
        assertThat(results).filteredOn(CheckResult::passed).extracting(CheckResult::check).contains(
                "causal-no-leakage", "padding-ignored", "fully-masked-rows", "batch-independent",
                "incremental-decoding", "cached-generation", "rejects-bad-input", "reproducible",
                "weights-reproduce-output");
    }
}
