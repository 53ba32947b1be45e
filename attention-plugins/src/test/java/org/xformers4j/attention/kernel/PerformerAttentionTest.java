package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@link PerformerAttention} against the FAVOR+ formula written out in double precision with the
 * mechanism's own random matrix W (unstabilised φ, explicit N×N kernel matrix, masks applied to
 * the matrix), its gradients against finite differences of that reference, the orthogonality of
 * W's blocks, the approximation of softmax attention improving with the number of features, the
 * redraw schedule, and its memory from the backend's allocation counter.
 */
class PerformerAttentionTest {

    private static final int B = 2;
    private static final int H = 3;
    private static final int D = 5;
    private static final int DV = 3;
    private static final int M = 16;

    /** φ(x)_i = exp(w_i·x/d^(1/4) - |x|²/(2 sqrt d)) / sqrt(m), in double precision. */
    private static double[] phi(double[][] w, double[] x) {
        int d = x.length;
        double sq = 0;
        for (double e : x) {
            sq += e * e;
        }
        double[] out = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += w[i][c] * x[c];
            }
            out[i] = Math.exp(dot / Math.pow(d, 0.25) - sq / Math.sqrt(d) / 2) / Math.sqrt(w.length);
        }
        return out;
    }

    /**
     * Attention in double precision, [b, h, lq, dv]: with {@code w}, FAVOR+ kernel attention; with
     * {@code w == null}, softmax attention exp(q·k/sqrt(d)) (the kernel FAVOR+ estimates).
     */
    private static double[] reference(double[][] w, double[] q, double[] k, double[] v, int b, int h, int lq, int lk,
                                      int d, int dv, boolean causal, boolean[][] padded) {
        double[] out = new double[b * h * lq * dv];
        for (int bh = 0; bh < b * h; bh++) {
            for (int i = 0; i < lq; i++) {
                double[] qi = java.util.Arrays.copyOfRange(q, (bh * lq + i) * d, (bh * lq + i + 1) * d);
                double[] fq = w == null ? null : phi(w, qi);
                double[] weights = new double[lk];
                double sum = 0;
                for (int j = 0; j < lk; j++) {
                    boolean visible = !(causal && j > lk - lq + i) && !(padded != null && padded[bh / h][j]);
                    double[] kj = java.util.Arrays.copyOfRange(k, (bh * lk + j) * d, (bh * lk + j + 1) * d);
                    double s = 0;
                    if (w == null) {
                        for (int c = 0; c < d; c++) {
                            s += qi[c] * kj[c];
                        }
                        s = Math.exp(s / Math.sqrt(d));
                    } else {
                        double[] fk = phi(w, kj);
                        for (int c = 0; c < fk.length; c++) {
                            s += fq[c] * fk[c];
                        }
                    }
                    weights[j] = visible ? s : 0;
                    sum += weights[j];
                }
                for (int j = 0; j < lk && sum != 0; j++) {
                    for (int e = 0; e < dv; e++) {
                        out[(bh * lq + i) * dv + e] += weights[j] / sum * v[(bh * lk + j) * dv + e];
                    }
                }
            }
        }
        return out;
    }

    private static PerformerAttention performer(int features, int redrawEvery, long seed, int headDim) {
        PerformerAttention p = new PerformerAttention(features, redrawEvery, seed, 1e-12f);
        p.initialize(H, headDim, new SplittableRandom(0));
        return p;
    }



    private static void assertMatchesReference(int lq, int lk, boolean causal, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, lq, D);
        Tensor k = Tensor.randn(rng, B, H, lk, D);
        Tensor v = Tensor.randn(rng, B, H, lk, DV);
        PerformerAttention attention = performer(M, 0, seed, D);
        float[] actual;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            actual = attention.forward(q, k, v, paddedContext(padded, causal)).toFloatArray();
        }
        double[] expected = reference(attention.randomFeatures(), toDouble(q), toDouble(k), toDouble(v), B, H, lq, lk,
                D, DV, causal, padded);
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("element %d", e).isCloseTo(expected[e],
                    Offset.offset(2e-5 * (1 + Math.abs(expected[e]))));
        }
    }

    @Test
    void randomFeaturesAreOrthogonalWithinBlocksWithChiDistributedNorms() {
        int d = 6;
        int m = 15; // blocks of 6, 6 and 3 rows
        double[][] w = performer(m, 0, 7, d).randomFeatures();
        assertThat(w).hasNumberOfRows(m);
        double smallestCrossBlock = Double.MAX_VALUE;
        for (int i = 0; i < m; i++) {
            for (int j = i + 1; j < m; j++) {
                double cos = dot(w[i], w[j]) / Math.sqrt(dot(w[i], w[i]) * dot(w[j], w[j]));
                if (i / d == j / d) {
                    assertThat(cos).as("rows %d and %d of one block", i, j).isCloseTo(0, Offset.offset(1e-6));
                } else {
                    smallestCrossBlock = Math.min(smallestCrossBlock, 1 - Math.abs(cos));
                }
            }
        }
        assertThat(smallestCrossBlock).as("rows of different blocks are independent, not orthogonal").isLessThan(0.99);
        // row norms are independent chi(d) lengths, not all 1 or all equal
        double mean = 0;
        for (double[] row : w) {
            mean += Math.sqrt(dot(row, row)) / m;
        }
        assertThat(mean).isBetween(1.5, 3.5); // E chi(6) ≈ 2.35
        assertThat(Math.sqrt(dot(w[0], w[0]))).isNotCloseTo(Math.sqrt(dot(w[1], w[1])), Offset.offset(1e-6));
    }

    @Test
    void nonCausalEqualsTheFloat64FavorReference() {
        assertMatchesReference(9, 9, false, null, 3);
    }

    @Test
    void causalEqualsTheReferenceAlsoWithFewerQueriesThanKeys() {
        assertMatchesReference(9, 9, true, null, 1);
        assertMatchesReference(4, 9, true, null, 2);
    }

    @Test
    void crossAttentionWithAnotherKeyLengthEqualsTheReference() {
        assertMatchesReference(4, 11, false, null, 4);
        assertMatchesReference(11, 4, false, null, 5);
    }

    @Test
    void paddedKeysContributeNothingCausalOrNot() {
        assertMatchesReference(9, 9, true, padLast(B, 9, 3), 6);
        assertMatchesReference(9, 9, false, padLast(B, 9, 3), 7);
        assertMatchesReference(4, 9, true, padLast(B, 9, 2), 8);
    }

    @Test
    void largeInputsDoNotOverflowThanksToTheStabiliser() {
        SplittableRandom rng = new SplittableRandom(11);
        Tensor q = Tensor.randn(rng, B, H, 6, D).mul(8f);
        Tensor k = Tensor.randn(rng, B, H, 6, D).mul(8f);
        Tensor v = Tensor.randn(rng, B, H, 6, DV);
        for (boolean causal : new boolean[] {false, true}) {
            float[] out = performer(M, 0, 1, D).forward(q, k, v, paddedContext(null, causal)).toFloatArray();
            for (float e : out) {
                assertThat(Float.isFinite(e)).as("causal %s", causal).isTrue();
            }
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesOfTheReference() {
        for (boolean causal : new boolean[] {true, false}) {
            int lq = causal ? 3 : 10;
            int lk = causal ? 7 : 17;            // non-causal: keys and queries span several blocks of rows
            boolean[][] padded = padLast(B, lk, 2);
            SplittableRandom rng = new SplittableRandom(causal ? 12 : 13);
            PerformerAttention attention = performer(M, 0, 5, D);
            double[][] w = attention.randomFeatures();
            AttentionContext context = paddedContext(padded, causal);
            GradCheck.of("performer " + (causal ? "causal" : "non-causal") + ", padded",
                    in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> reference(w, ref[0], ref[1], ref[2], B, H, lq, lk, D, DV, causal, padded),
                    GradCheck.input(rng, B, H, lq, D), GradCheck.input(rng, B, H, lk, D),
                    GradCheck.input(rng, B, H, lk, DV)).check();
        }
    }

    /**
     * The mean absolute difference to softmax attention on a fixed problem (B=1, H=2, L=12, d=8,
     * inputs of standard deviation 0.7), averaged over 6 seeds of W.
     */
    private static double softmaxError(int features) {
        int h = 2;
        int n = 12;
        int d = 8;
        SplittableRandom rng = new SplittableRandom(99);
        Tensor q = Tensor.randn(rng, 1, h, n, d).mul(0.7f);
        Tensor k = Tensor.randn(rng, 1, h, n, d).mul(0.7f);
        Tensor v = Tensor.randn(rng, 1, h, n, d);
        double[] softmax = reference(null, toDouble(q), toDouble(k), toDouble(v), 1, h, n, n, d, d, false, null);
        double error = 0;
        int seeds = 6;
        for (long seed = 0; seed < seeds; seed++) {
            PerformerAttention attention = new PerformerAttention(features, 0, 1000 + seed, 1e-12f);
            attention.initialize(h, d, new SplittableRandom(0));
            float[] out;
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                out = attention.forward(q, k, v, AttentionContext.builder().build()).toFloatArray();
            }
            for (int e = 0; e < out.length; e++) {
                error += Math.abs(out[e] - softmax[e]) / out.length / seeds;
            }
        }
        return error;
    }

    @Test
    void approximationOfSoftmaxAttentionImprovesAsFeaturesGrow() {
        double e64 = softmaxError(64);
        double e256 = softmaxError(256);
        double e1024 = softmaxError(1024);
        // the estimator's error shrinks like 1/sqrt(m): about halves per 4× features; require 0.8×
        assertThat(e256).as("error with 256 features (64: %s)", e64).isLessThan(0.8 * e64);
        assertThat(e1024).as("error with 1024 features (256: %s)", e256).isLessThan(0.8 * e256);
        assertThat(e1024).isLessThan(0.05);
        System.out.printf("performer: mean |error| against softmax with 64, 256, 1024 features: %.4f %.4f %.4f%n",
                e64, e256, e1024);
    }

    @Test
    void redrawsExactlyEveryRedrawEveryTrainingCallsAndNeverInEvaluation() {
        PerformerAttention attention = performer(8, 3, 21, D);
        PerformerAttention twin = performer(8, 3, 21, D);
        SplittableRandom rng = new SplittableRandom(1);
        Tensor q = Tensor.randn(rng, B, H, 4, D);
        Tensor v = Tensor.randn(rng, B, H, 4, DV);
        AttentionContext plain = AttentionContext.builder().build();
        double[][] first = attention.randomFeatures();
        assertThat(attention.draws()).isEqualTo(1);
        List<double[][]> seen = new java.util.ArrayList<>();
        seen.add(first);
        for (int call = 1; call <= 9; call++) {
            attention.forward(q, q, v, plain);
            int expectedDraws = 1 + (call - 1) / 3;
            assertThat(attention.draws()).as("draws after training call %d", call).isEqualTo(expectedDraws);
            double[][] w = attention.randomFeatures();
            if (expectedDraws > seen.size()) {
                assertThat(java.util.Arrays.deepEquals(w, seen.get(seen.size() - 1))).as("redrawn at call %d", call).isFalse();
                seen.add(w);
            } else {
                assertThat(w).isDeepEqualTo(seen.get(seen.size() - 1));
            }
        }
        attention.eval();
        for (int call = 0; call < 10; call++) {
            attention.forward(q, q, v, plain);
        }
        assertThat(attention.draws()).as("evaluation mode never redraws").isEqualTo(3);
        assertThat(attention.randomFeatures()).isDeepEqualTo(seen.get(2));
        attention.train();
        attention.forward(q, q, v, plain); // the 10th training call: the evaluation calls did not count
        assertThat(attention.draws()).isEqualTo(4);
        assertThat(java.util.Arrays.deepEquals(attention.randomFeatures(), seen.get(2))).isFalse();
        // the same seed draws the same sequence of matrices
        for (int call = 0; call < 9; call++) {
            twin.forward(q, q, v, plain);
        }
        assertThat(twin.randomFeatures()).isDeepEqualTo(seen.get(2));
        PerformerAttention never = performer(8, 0, 21, D);
        for (int call = 0; call < 5; call++) {
            never.forward(q, q, v, plain);
        }
        assertThat(never.draws()).isEqualTo(1);
        assertThat(never.randomFeatures()).isDeepEqualTo(first);
    }

    @Test
    void aMultiHeadLayerSwitchesItBetweenTrainingAndEvaluationAndTrainsIt() {
        SplittableRandom rng = new SplittableRandom(40);
        PerformerAttention attention = new PerformerAttention(32, 2, 9, 1e-12f);
        org.xformers4j.nn.MultiHeadAttention layer = new org.xformers4j.nn.MultiHeadAttention(16, 4, attention, null,
                true, rng);
        Tensor x = Tensor.randn(rng, 2, 6, 16);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        layer.selfAttention(x, causal).sum().backward();
        for (Map.Entry<String, Tensor> p : layer.namedParameters().entrySet()) {
            double norm = 0;
            for (float e : p.getValue().grad().toFloatArray()) {
                assertThat(Float.isFinite(e)).as("gradient of %s is finite", p.getKey()).isTrue();
                norm += Math.abs(e);
            }
            assertThat(norm).as("gradient of %s", p.getKey()).isPositive();
        }
        layer.selfAttention(x, causal);
        layer.selfAttention(x, causal);
        assertThat(attention.draws()).as("redrawn at the third training call").isEqualTo(2);
        layer.eval();
        assertThat(attention.isTraining()).isFalse();
        for (int call = 0; call < 5; call++) {
            layer.selfAttention(x, causal);
        }
        assertThat(attention.draws()).isEqualTo(2);
    }

    /**
     * With the default 256 features for heads of 64, the features of the keys alone would be four
     * [H, N, D] tensors: the fused product computes them row by row and allocates, besides the
     * output and the input gradients (and the autograd's copies of them, 7 tensors in all), less
     * than 1/16 of a tensor, causal or not, at N and at 2N. Computing the features as tensors
     * allocated some 57 (causal) and 101 (non-causal) [H, N, D] tensors.
     */
    @Test
    void forwardAndBackwardAllocateOnlyTheOutputAndTheGradientsNeverTheFeatures() {
        for (boolean causal : new boolean[] {true, false}) {
            for (int n : new int[] {512, 1024}) {
                PerformerAttention attention = new PerformerAttention(256, 0, 1, 1e-12f);
                attention.initialize(KernelMemory.H, KernelMemory.D, new SplittableRandom(0));
                assertThat(KernelMemory.tensorsAllocated(attention, n, causal))
                        .as("[H, N, D] tensors allocated at N = %d, causal %s", n, causal).isLessThan(7 + 1.0 / 16);
            }
        }
    }

    @Test
    void aRecurrentStepContinuingAStateIsTheReferenceOverEveryKeyWithItsGradients() {
        for (boolean causal : new boolean[] {true, false}) {
            PerformerAttention attention = performer(M, 0, 9, D);
            double[][] w = attention.randomFeatures();
            RecurrentSteps.checkContinuingAState("performer", attention,
                    (q, k, v, lq, lk, c, padded) -> reference(w, q, k, v, B, H, lq, lk, D, DV, c, padded),
                    B, H, D, DV, causal, causal ? 60 : 61);
        }
    }

    @Test
    void tokenByTokenStepsMoveTheRunningStabiliserAsLargerKeysArriveAndMatchOneCausalPass() {
        SplittableRandom rng = new SplittableRandom(62);
        int n = 10;
        float[] keys = Tensor.randn(rng, B, H, n, D).toFloatArray();
        for (int e = 0; e < keys.length; e++) {
            keys[e] *= 0.1f * (1 + e / D % n);     // key j of every head scaled by (j + 1) / 10: its largest
                                                    // exponent max_i w_i·k' - |k'|²/2 mostly grows with j
        }
        Tensor q = Tensor.randn(rng, B, H, n, D).mul(3f);
        Tensor k = Tensor.of(keys, B, H, n, D);
        Tensor v = Tensor.randn(rng, B, H, n, DV);
        PerformerAttention attention = performer(M, 0, 63, D);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            AttentionContext causal = AttentionContext.builder().causal(true).build();
            float[] whole = attention.forward(q, k, v, causal).toFloatArray();
            List<Tensor> state = null;
            float previousMaximum = Float.NEGATIVE_INFINITY;
            int raised = 0;
            for (int t = 0; t < n; t++) {
                var step = attention.step(q.narrow(2, t, 1), k.narrow(2, t, 1), v.narrow(2, t, 1), causal, state);
                state = step.state();
                float maximum = state.get(2).get(0, 0, 0, 0);
                assertThat(maximum).as("the running stabiliser never falls").isGreaterThanOrEqualTo(previousMaximum);
                raised += maximum > previousMaximum ? 1 : 0;
                previousMaximum = maximum;
                float[] out = step.output().toFloatArray();
                for (int bh = 0; bh < B * H; bh++) {
                    for (int e = 0; e < DV; e++) {
                        float expected = whole[(bh * n + t) * DV + e];
                        assertThat(Float.isFinite(out[bh * DV + e])).isTrue();
                        assertThat((double) out[bh * DV + e]).as("position %d, head %d", t, bh)
                                .isCloseTo(expected, Offset.offset(1e-5 * (1 + Math.abs(expected))));
                    }
                }
            }
            assertThat(raised).as("steps that raised the stabiliser of head 0").isGreaterThan(1);
            float[] s = state.get(0).toFloatArray();
            for (float e : s) {
                assertThat(Float.isFinite(e)).isTrue();
            }
        }
    }

    /**
     * Keys scaled up along the sequence raise the running stabiliser at most positions, so the
     * backward's reverse scan rescales its sums as it passes them: the gradients must still be those
     * of the unstabilised kernel attention.
     */
    @Test
    void gradientsStayThoseOfTheReferenceWhenLaterKeysRaiseTheStabiliser() {
        int n = 7;
        float[] scale = new float[n];
        for (int j = 0; j < n; j++) {
            scale[j] = 0.3f * (j + 1);
        }
        Tensor scales = Tensor.of(scale, 1, 1, n, 1);
        SplittableRandom rng = new SplittableRandom(64);
        PerformerAttention attention = performer(M, 0, 65, D);
        double[][] w = attention.randomFeatures();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        GradCheck.of("performer causal, keys growing along the sequence",
                in -> attention.forward(in[0], in[1].mul(scales), in[2], causal),
                ref -> {
                    double[] k = ref[1].clone();
                    for (int e = 0; e < k.length; e++) {
                        k[e] *= scale[e / D % n];
                    }
                    return reference(w, ref[0], k, ref[2], B, H, n, n, D, DV, true, null);
                },
                GradCheck.input(rng, B, H, n, D), GradCheck.input(rng, B, H, n, D), GradCheck.input(rng, B, H, n, DV))
                .check();
    }

    @Test
    void rejectsABiasAndAttentionDropoutNamingThem() {
        Tensor q = Tensor.zeros(1, 1, 4, D);
        Tensor v = Tensor.zeros(1, 1, 4, DV);
        PerformerAttention attention = performer(M, 0, 1, D);
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 4, 4)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder()
                .dropout(0.1f, new SplittableRandom(1)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attention dropout");
        assertThatThrownBy(() -> attention.forward(Tensor.zeros(1, 1, 4, D + 1), Tensor.zeros(1, 1, 4, D + 1), v,
                AttentionContext.builder().build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("head size");
    }

    @Test
    void describesItselfAndValidatesItsOptions() {
        ComponentDescriptor d = new PerformerAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("performer");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(c.causal()).isTrue();
        assertThat(c.crossAttention()).isTrue();
        assertThat(c.keyPaddingMask()).isTrue();
        assertThat(c.additiveBias()).isFalse();
        assertThat(c.incrementalDecoding()).isTrue();
        assertThat(c.exact()).isFalse();
        PerformerAttention p = new PerformerAttentionProvider().create(
                Map.of("features", "64", "redrawEvery", "0", "seed", "3"));
        assertThat(p.features()).isEqualTo(64);
        assertThat(p.redrawEvery()).isZero();
        assertThat(p.seed()).isEqualTo(3L);
        assertThatThrownBy(() -> new PerformerAttentionProvider().create(Map.of("features", "0")))
                .hasMessageContaining("performer.features");
        assertThatThrownBy(() -> new PerformerAttentionProvider().create(Map.of("redrawEvery", "-1")))
                .hasMessageContaining("performer.redrawEvery");
    }

    @Test
    void passesTheConformanceSuiteIncludingItsKernelDefinition() {
        List<CheckResult> results = AttentionConformance.run(new PerformerAttentionProvider());
        assertThat(results).extracting(CheckResult::check).contains("matches-kernel-definition", "gradient-inputs",
                "causal-no-leakage", "padding-ignored", "fully-masked-rows", "batch-independent",
                "rejects-bad-input", "reproducible", "incremental-decoding", "cached-generation")
                .doesNotContain("matches-full");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] toDouble(Tensor t) {
        float[] f = t.toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }
}
