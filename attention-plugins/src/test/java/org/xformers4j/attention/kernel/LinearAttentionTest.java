package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@link LinearAttention} against kernel attention written out in double precision on the explicit
 * N×N kernel matrix {@code φ(Q)φ(K)ᵀ}, the causal and padding masks applied to the matrix and each
 * row normalised by its sum; the fused causal kernel's gradients against finite differences of
 * that reference; and the causal kernel's memory from the backend's allocation counter.
 */
class LinearAttentionTest {

    private static final int B = 2;
    private static final int H = 3;
    private static final int D = 5;
    private static final int DV = 3;

    /** Kernel attention in double precision, [B, H, lq, DV]; {@code padded[b][j]} masks key j of batch element b. */
    private static double[] reference(double[] q, double[] k, double[] v, int lq, int lk, boolean causal,
                                      boolean[][] padded) {
        double[] out = new double[B * H * lq * DV];
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H;
            for (int i = 0; i < lq; i++) {
                double[] weights = new double[lk];
                double sum = 0;
                for (int j = 0; j < lk; j++) {
                    boolean visible = !(causal && j > lk - lq + i) && !(padded != null && padded[b][j]);
                    double dot = 0;
                    for (int c = 0; c < D; c++) {
                        dot += phi(q[(bh * lq + i) * D + c]) * phi(k[(bh * lk + j) * D + c]);
                    }
                    weights[j] = visible ? dot : 0;
                    sum += weights[j];
                }
                for (int j = 0; j < lk && sum != 0; j++) {
                    for (int e = 0; e < DV; e++) {
                        out[(bh * lq + i) * DV + e] += weights[j] / sum * v[(bh * lk + j) * DV + e];
                    }
                }
            }
        }
        return out;
    }

    private static double phi(double x) {
        return x > 0 ? x + 1 : Math.exp(x);
    }



    private static void assertMatchesReference(int lq, int lk, boolean causal, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, lq, D);
        Tensor k = Tensor.randn(rng, B, H, lk, D);
        Tensor v = Tensor.randn(rng, B, H, lk, DV);
        float[] actual;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            actual = new LinearAttention(1e-6f).forward(q, k, v, paddedContext(padded, causal)).toFloatArray();
        }
        double[] expected = reference(toDouble(q), toDouble(k), toDouble(v), lq, lk, causal, padded);
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("element %d", e).isCloseTo(expected[e],
                    org.assertj.core.data.Offset.offset(2e-5 * (1 + Math.abs(expected[e]))));
        }
    }

    @Test
    void causalEqualsTheExplicitKernelMatrixReference() {
        assertMatchesReference(9, 9, true, null, 1);
    }

    @Test
    void causalWithFewerQueriesThanKeysIsEndAligned() {
        assertMatchesReference(4, 9, true, null, 2);
    }

    @Test
    void nonCausalEqualsTheReference() {
        assertMatchesReference(9, 9, false, null, 3);
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
    void changingAPaddedKeyOrValueChangesNothing() {
        SplittableRandom rng = new SplittableRandom(9);
        int n = 7;
        float[] q = Tensor.randn(rng, B, H, n, D).toFloatArray();
        float[] k = Tensor.randn(rng, B, H, n, D).toFloatArray();
        float[] v = Tensor.randn(rng, B, H, n, DV).toFloatArray();
        for (boolean causal : new boolean[] {false, true}) {
            LinearAttention attention = new LinearAttention(1e-6f);
            AttentionContext context = paddedContext(padLast(B, n, 2), causal);
            float[] before = attention.forward(Tensor.of(q, B, H, n, D), Tensor.of(k, B, H, n, D),
                    Tensor.of(v, B, H, n, DV), context).toFloatArray();
            float[] k2 = k.clone();
            float[] v2 = v.clone();
            for (int h = 0; h < H; h++) {
                for (int c = 0; c < D; c++) {
                    k2[((H + h) * n + n - 1) * D + c] += 5f;
                }
                for (int c = 0; c < DV; c++) {
                    v2[((H + h) * n + n - 2) * DV + c] -= 7f;
                }
            }
            float[] after = attention.forward(Tensor.of(q, B, H, n, D), Tensor.of(k2, B, H, n, D),
                    Tensor.of(v2, B, H, n, DV), context).toFloatArray();
            assertThat(after).as("causal %s", causal).containsExactly(before);
        }
    }

    @Test
    void fusedCausalKernelGradientsMatchFiniteDifferencesOfTheReference() {
        for (int[] lengths : new int[][] {{8, 8}, {3, 8}}) {
            int lq = lengths[0];
            int lk = lengths[1];
            boolean[][] padded = padLast(B, lk, 2);
            SplittableRandom rng = new SplittableRandom(10 + lq);
            LinearAttention attention = new LinearAttention(1e-6f);
            AttentionContext context = paddedContext(padded, true);
            GradCheck.of("linear causal, " + lq + " queries over " + lk + " keys, padded",
                    in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> reference(ref[0], ref[1], ref[2], lq, lk, true, padded),
                    GradCheck.input(rng, B, H, lq, D), GradCheck.input(rng, B, H, lk, D),
                    GradCheck.input(rng, B, H, lk, DV)).check();
        }
    }

    @Test
    void nonCausalGradientsMatchFiniteDifferencesOfTheReference() {
        SplittableRandom rng = new SplittableRandom(20);
        boolean[][] padded = padLast(B, 6, 2);
        LinearAttention attention = new LinearAttention(1e-6f);
        AttentionContext context = paddedContext(padded, false);
        GradCheck.of("linear, 4 queries over 6 keys, padded", in -> attention.forward(in[0], in[1], in[2], context),
                ref -> reference(ref[0], ref[1], ref[2], 4, 6, false, padded),
                GradCheck.input(rng, B, H, 4, D), GradCheck.input(rng, B, H, 6, D),
                GradCheck.input(rng, B, H, 6, DV)).check();
    }

    @Test
    void aQueryWhoseKeysAreAllPaddedOutputsZerosWithZeroGradients() {
        SplittableRandom rng = new SplittableRandom(30);
        int n = 5;
        Tensor q = GradCheck.input(rng, B, H, n, D);
        Tensor k = GradCheck.input(rng, B, H, n, D);
        Tensor v = GradCheck.input(rng, B, H, n, DV);
        Tensor out = new LinearAttention(1e-6f).forward(q, k, v, paddedContext(padLast(B, n, n), true));
        out.sum().backward();
        int half = H * n;
        float[] o = out.toFloatArray();
        for (int e = half * DV; e < o.length; e++) {
            assertThat(o[e]).isZero();
        }
        for (Tensor leaf : List.of(q, k, v)) {
            float[] g = leaf.grad().toFloatArray();
            for (int e = g.length / 2; e < g.length; e++) {
                assertThat(g[e]).isZero();
            }
        }
    }

    /**
     * The fused product applies φ inside its scans: besides the output and the input gradients
     * (and the autograd's copies of them, 7 tensors of [H, N, D] in all), forward and backward
     * allocate less than 1/16 of such a tensor, causal or not, at N and at 2N. The unfused
     * computation allocated about 12 (causal) and 24 (non-causal): the features, their
     * intermediates and gradients, an N×D×D or N×N buffer never.
     */
    @Test
    void forwardAndBackwardAllocateOnlyTheOutputAndTheGradients() {
        for (boolean causal : new boolean[] {true, false}) {
            for (int n : new int[] {2048, 4096}) {
                assertThat(KernelMemory.tensorsAllocated(new LinearAttention(1e-6f), n, causal))
                        .as("[H, N, D] tensors allocated at N = %d, causal %s", n, causal).isLessThan(7 + 1.0 / 16);
            }
        }
    }

    @Test
    void aRecurrentStepContinuingAStateIsTheReferenceOverEveryKeyWithItsGradients() {
        for (boolean causal : new boolean[] {true, false}) {
            RecurrentSteps.checkContinuingAState("linear", new LinearAttention(1e-6f),
                    LinearAttentionTest::reference, B, H, D, DV, causal, causal ? 50 : 51);
        }
    }

    @Test
    void rejectsABiasAndAttentionDropoutNamingThem() {
        Tensor q = Tensor.zeros(1, 1, 4, D);
        Tensor v = Tensor.zeros(1, 1, 4, DV);
        LinearAttention attention = new LinearAttention(1e-6f);
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 4, 4)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder()
                .dropout(0.1f, new SplittableRandom(1)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attention dropout");
        assertThatThrownBy(() -> attention.forward(Tensor.zeros(1, 1, 5, D), q, v,
                AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more queries than keys");
    }

    @Test
    void describesItselfAndValidatesEps() {
        ComponentDescriptor d = new LinearAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("linear");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(c.causal()).isTrue();
        assertThat(c.additiveBias()).isFalse();
        assertThat(c.incrementalDecoding()).isTrue();
        assertThat(c.exact()).isFalse();
        assertThat(new LinearAttentionProvider().create(Map.of("eps", "1e-4"))).extracting(LinearAttention::eps)
                .isEqualTo(1e-4f);
        assertThatThrownBy(() -> new LinearAttentionProvider().create(Map.of("eps", "0")))
                .hasMessageContaining("linear.eps");
    }

    @Test
    void passesTheConformanceSuiteIncludingItsKernelDefinition() {
        List<CheckResult> results = AttentionConformance.run(new LinearAttentionProvider());
        assertThat(results).extracting(CheckResult::check).contains("matches-kernel-definition", "gradient-inputs",
                "causal-no-leakage", "padding-ignored", "fully-masked-rows", "batch-independent",
                "rejects-bad-input", "reproducible", "incremental-decoding", "cached-generation")
                .doesNotContain("matches-full");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
        assertThat(results).filteredOn(r -> r.check().equals("gradient-inputs")).singleElement()
                .satisfies(r -> assertThat(r.detail()).contains("float64 kernel attention"));
    }

    @Test
    void trainsInsideAMultiHeadAttentionLayerWithoutLeakingTheFuture() {
        SplittableRandom rng = new SplittableRandom(40);
        MultiHeadAttention layer = new MultiHeadAttention(16, 4, new LinearAttention(1e-6f), null, true, rng);
        float[] x = Tensor.randn(rng, 2, 6, 16).toFloatArray();
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        Tensor out = layer.selfAttention(Tensor.of(x, 2, 6, 16), causal);
        out.sum().backward();
        for (Map.Entry<String, Tensor> p : layer.namedParameters().entrySet()) {
            float[] g = p.getValue().grad().toFloatArray();
            double norm = 0;
            for (float e : g) {
                assertThat(Float.isFinite(e)).as("gradient of %s is finite", p.getKey()).isTrue();
                norm += Math.abs(e);
            }
            assertThat(norm).as("gradient of %s", p.getKey()).isPositive();
        }
        float[] changed = x.clone();
        for (int c = 0; c < 16; c++) {
            changed[5 * 16 + c] += 3f; // the last position of batch element 0
        }
        float[] before = out.toFloatArray();
        float[] after = layer.selfAttention(Tensor.of(changed, 2, 6, 16), causal).toFloatArray();
        for (int e = 0; e < 5 * 16; e++) {
            assertThat(after[e]).as("output element %d, before the changed position", e).isEqualTo(before[e]);
        }
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
