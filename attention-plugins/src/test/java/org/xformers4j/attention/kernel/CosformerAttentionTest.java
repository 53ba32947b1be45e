package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.attention.AttentionCases.allocatedBytes;
import static org.xformers4j.attention.AttentionCases.assertElementsClose;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.toDouble;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ProviderWithDefaults;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@link CosformerAttention} against the paper's re-weighted kernel written out in double precision
 * on the explicit N×N matrix, relu(q_i)·relu(k_j)·cos(π/2·(p(i) - j)/M) (not its cos/sin
 * decomposition), the masks applied to the matrix; gradients against finite differences of that
 * reference; why M is fixed (a prefix's outputs do not change as the sequence grows, nor a
 * sequence's with the padding of its batch); the refusals; memory from the allocation counter; and
 * the conformance suite with M as small as its problems, where the re-weighting is strong.
 */
class CosformerAttentionTest {

    private static final int B = 2;
    private static final int H = 3;
    private static final int D = 5;
    private static final int DV = 3;

    /** cosFormer in double precision, [B, H, lq, DV]; {@code padded[b][j]} masks key j of batch element b. */
    private static double[] reference(double[] q, double[] k, double[] v, int lq, int lk, int m, boolean causal,
                                      boolean[][] padded) {
        double[] out = new double[B * H * lq * DV];
        for (int bh = 0; bh < B * H; bh++) {
            for (int i = 0; i < lq; i++) {
                int position = lk - lq + i;
                double[] weights = new double[lk];
                double sum = 0;
                for (int j = 0; j < lk; j++) {
                    boolean visible = !(causal && j > position) && !(padded != null && padded[bh / H][j]);
                    double dot = 0;
                    for (int c = 0; c < D; c++) {
                        dot += Math.max(q[(bh * lq + i) * D + c], 0) * Math.max(k[(bh * lk + j) * D + c], 0);
                    }
                    weights[j] = visible ? dot * Math.cos(Math.PI / 2 * (position - j) / m) : 0;
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

    private static void assertMatchesReference(int lq, int lk, int m, boolean causal, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, lq, D);
        Tensor k = Tensor.randn(rng, B, H, lk, D);
        Tensor v = Tensor.randn(rng, B, H, lk, DV);
        float[] actual;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            actual = new CosformerAttention(m, 1e-12f).forward(q, k, v, paddedContext(padded, causal)).toFloatArray();
        }
        assertElementsClose(actual, reference(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()),
                toDouble(v.toFloatArray()), lq, lk, m, causal, padded), 2e-5);
    }

    @Test
    void causalEqualsTheExplicitReweightedKernelMatrix() {
        assertMatchesReference(9, 9, 9, true, null, 1);
        assertMatchesReference(9, 9, 64, true, null, 2);
    }

    @Test
    void causalWithFewerQueriesThanKeysIsEndAligned() {
        assertMatchesReference(4, 9, 10, true, null, 3);
    }

    @Test
    void nonCausalEqualsTheReference() {
        assertMatchesReference(9, 9, 9, false, null, 4);
    }

    @Test
    void crossAttentionWithAnotherKeyLengthEqualsTheReference() {
        assertMatchesReference(4, 11, 11, false, null, 5);
        assertMatchesReference(11, 4, 11, false, null, 6); // the first queries at negative positions
    }

    @Test
    void paddedKeysContributeNothingCausalOrNot() {
        assertMatchesReference(9, 9, 12, true, padLast(B, 9, 3), 7);
        assertMatchesReference(9, 9, 12, false, padLast(B, 9, 3), 8);
        assertMatchesReference(4, 9, 12, true, padLast(B, 9, 2), 9);
        SplittableRandom rng = new SplittableRandom(10);
        Tensor q = Tensor.randn(rng, B, H, 7, D);
        Tensor k = Tensor.randn(rng, B, H, 7, D);
        Tensor v = Tensor.randn(rng, B, H, 7, DV);
        boolean[][] padded = padLast(B, 7, 2);
        for (boolean causal : new boolean[] {false, true}) {
            CosformerAttention attention = new CosformerAttention(8, 1e-12f);
            AttentionContext context = paddedContext(padded, causal);
            float[] before = attention.forward(q, k, v, context).toFloatArray();
            float[] after = attention.forward(q, shiftPadded(k, padded, 5f, 0.5f), shiftPadded(v, padded, -7f, 1f),
                    context).toFloatArray();
            assertThat(after).as("causal %s", causal).containsExactly(before);
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesOfTheReferenceFusedCausalOrNot() {
        for (int[] c : new int[][] {{8, 8, 1}, {3, 8, 1}, {4, 6, 0}}) {
            int lq = c[0];
            int lk = c[1];
            boolean causal = c[2] == 1;
            boolean[][] padded = padLast(B, lk, 2);
            SplittableRandom rng = new SplittableRandom(20 + lq + c[2]);
            CosformerAttention attention = new CosformerAttention(10, 1e-12f);
            AttentionContext context = paddedContext(padded, causal);
            GradCheck.of("cosformer " + (causal ? "causal" : "non-causal") + ", " + lq + " queries over " + lk
                            + " keys, padded", in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> reference(ref[0], ref[1], ref[2], lq, lk, 10, causal, padded),
                    GradCheck.input(rng, B, H, lq, D), GradCheck.input(rng, B, H, lk, D),
                    GradCheck.input(rng, B, H, lk, DV)).check();
        }
    }

    @Test
    void earlierOutputsDoNotChangeAsTheCausalSequenceGrows() {
        SplittableRandom rng = new SplittableRandom(30);
        float[] q = Tensor.randn(rng, 1, H, 12, D).toFloatArray();
        float[] k = Tensor.randn(rng, 1, H, 12, D).toFloatArray();
        float[] v = Tensor.randn(rng, 1, H, 12, DV).toFloatArray();
        CosformerAttention attention = new CosformerAttention(16, 1e-12f);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        float[] whole = attention.forward(Tensor.of(q, 1, H, 12, D), Tensor.of(k, 1, H, 12, D),
                Tensor.of(v, 1, H, 12, DV), causal).toFloatArray();
        Tensor prefixQ = Tensor.of(q, 1, H, 12, D).narrow(2, 0, 5);
        Tensor prefixK = Tensor.of(k, 1, H, 12, D).narrow(2, 0, 5);
        Tensor prefixV = Tensor.of(v, 1, H, 12, DV).narrow(2, 0, 5);
        float[] prefix = attention.forward(prefixQ, prefixK, prefixV, causal).toFloatArray();
        for (int h = 0; h < H; h++) {
            for (int e = 0; e < 5 * DV; e++) {
                assertThat(prefix[h * 5 * DV + e]).as("head %d element %d", h, e)
                        .isCloseTo(whole[h * 12 * DV + e], Offset.offset(1e-6f));
            }
        }
    }

    @Test
    void aSequencesOutputsDoNotDependOnHowFarItsBatchIsPadded() {
        SplittableRandom rng = new SplittableRandom(31);
        int real = 6;
        int longest = 10;
        Tensor q = Tensor.randn(rng, 1, H, longest, D);
        Tensor k = Tensor.randn(rng, 1, H, longest, D);
        Tensor v = Tensor.randn(rng, 1, H, longest, DV);
        CosformerAttention attention = new CosformerAttention(16, 1e-12f);
        float[] shortOut = attention.forward(q.narrow(2, 0, real), k.narrow(2, 0, real), v.narrow(2, 0, real),
                AttentionContext.none()).toFloatArray();
        boolean[][] padded = padLast(1, longest, longest - real);
        float[] paddedOut = attention.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
        for (int h = 0; h < H; h++) {
            for (int e = 0; e < real * DV; e++) {
                assertThat(paddedOut[h * longest * DV + e]).as("head %d element %d", h, e)
                        .isCloseTo(shortOut[h * real * DV + e], Offset.offset(1e-6f));
            }
        }
    }

    @Test
    void theFeatureMapDependsOnPositionOnlyThroughTheDistance() {
        CosformerAttention attention = new CosformerAttention(8, 1e-12f);
        double[] q = {0.5, -1, 2, 0.25};
        double[] k = {1.5, 0.5, -0.5, 1};
        double plain = 0.5 * 1.5 + 0.25 * 1;  // relu(q)·relu(k)
        for (int[] positions : new int[][] {{3, 1}, {10, 8}, {-2, -4}, {5, 5}, {0, 7}}) {
            double kernel = dot(attention.features(0, positions[0], q), attention.features(1, positions[1], k));
            assertThat(kernel).as("positions %d, %d", positions[0], positions[1])
                    .isCloseTo(plain * Math.cos(Math.PI / 2 * (positions[0] - positions[1]) / 8), Offset.offset(1e-12));
        }
        assertThatThrownBy(() -> attention.features(0, q)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("features(head, position, x)");
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void refusesInputsSpanningMoreThanMaxLengthABiasAndDropout() {
        CosformerAttention attention = new CosformerAttention(8, 1e-12f);
        Tensor q = Tensor.zeros(1, 1, 9, D);
        Tensor v = Tensor.zeros(1, 1, 9, DV);
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("span 9 positions")
                .hasMessageContaining("maxLength = 8");
        Tensor k4 = Tensor.zeros(1, 1, 4, D);
        assertThatThrownBy(() -> attention.forward(q, k4, Tensor.zeros(1, 1, 4, DV), AttentionContext.none()))
                .as("more queries than keys span the queries' positions")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxLength = 8");
        Tensor q4 = Tensor.zeros(1, 1, 4, D);
        Tensor v4 = Tensor.zeros(1, 1, 4, DV);
        assertThatThrownBy(() -> attention.forward(q4, q4, v4, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 4, 4)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        assertThatThrownBy(() -> attention.forward(q4, q4, v4, AttentionContext.builder()
                .dropout(0.1f, new SplittableRandom(1)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attention dropout");
    }

    @Test
    void forwardAndBackwardNeverAllocateAnNxNOrNxDxDBuffer() {
        int n = 8192;
        CosformerAttention attention = new CosformerAttention(n, 1e-12f);
        for (boolean causal : new boolean[] {true, false}) {
            long half = allocatedBytes(attention, n / 2, 64, causal);
            long bytes = allocatedBytes(attention, n, 64, causal);
            long prefixStates = 2L * n * 128 * 64 * Float.BYTES; // [H, N, 2D, Dv] of running states
            long scores = 2L * n * n * Float.BYTES;              // [H, N, N] kernel matrix
            assertThat(bytes).as("bytes allocated by forward + backward at N = %d, causal %s", n, causal)
                    .isLessThan(Math.min(prefixStates, scores) / 2);
            // (some 30 [H, N, D] and [H, N, 2D] tensors: features, output, gradients) and linear in N
            assertThat((double) bytes).as("causal %s, N = %d and %d", causal, n / 2, n)
                    .isLessThanOrEqualTo(2.2 * half);
        }
    }

    @Test
    void aRecurrentStepContinuingAStateIsTheReferenceOverEveryKeyWithItsGradients() {
        int m = 9;   // the two steps' 7 positions, with strong re-weighting
        for (boolean causal : new boolean[] {true, false}) {
            RecurrentSteps.checkContinuingAState("cosformer", new CosformerAttention(m, 1e-12f),
                    (q, k, v, lq, lk, c, padded) -> reference(q, k, v, lq, lk, m, c, padded), B, H, D, DV, causal,
                    causal ? 60 : 61);
        }
    }

    @Test
    void aRecurrentStepCountsItsPositionsAndRefusesToPassM() {
        CosformerAttention attention = new CosformerAttention(5, 1e-12f);
        SplittableRandom rng = new SplittableRandom(70);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        List<Tensor> state = attention.step(Tensor.randn(rng, 1, 1, 3, D), Tensor.randn(rng, 1, 1, 3, D),
                Tensor.randn(rng, 1, 1, 3, DV), causal, null).state();
        assertThat(state.get(3).toFloatArray()).containsExactly(3f);
        Tensor two = Tensor.randn(rng, 1, 1, 2, D);
        assertThat(attention.step(two, two, Tensor.randn(rng, 1, 1, 2, DV), causal, state).state().get(3)
                .toFloatArray()).containsExactly(5f);
        Tensor three = Tensor.randn(rng, 1, 1, 3, D);
        assertThatThrownBy(() -> attention.step(three, three, Tensor.randn(rng, 1, 1, 3, DV), causal, state))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("span 6 positions")
                .hasMessageContaining("maxLength = 5");
    }

    @Test
    void describesItselfAndValidatesItsOptions() {
        ComponentDescriptor d = new CosformerAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("cosformer");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(c.causal()).isTrue();
        assertThat(c.crossAttention()).isTrue();
        assertThat(c.additiveBias()).isFalse();
        assertThat(c.exact()).isFalse();
        assertThat(c.length()).isEqualTo(AttentionCapabilities.LengthConstraint.MAXIMUM);
        CosformerAttention created = new CosformerAttentionProvider().create(Map.of("maxLength", "128", "eps", "1e-9"));
        assertThat(created.maxLength()).isEqualTo(128);
        assertThat(created.eps()).isEqualTo(1e-9f);
        assertThatThrownBy(() -> new CosformerAttentionProvider().create(Map.of("maxLength", "0")))
                .hasMessageContaining("cosformer.maxLength");
        assertThatThrownBy(() -> new CosformerAttentionProvider().create(Map.of("eps", "0")))
                .hasMessageContaining("cosformer.eps");
    }

    @Test
    void passesTheConformanceSuiteAgainstItsOwnPositionalKernelDefinition() {
        // M = 8, the suite's sequence length: weights from cos 0 = 1 down to cos(7π/16) ≈ 0.2
        for (ComponentProvider<?> provider : List.of(new CosformerAttentionProvider(), ProviderWithDefaults.of(new CosformerAttentionProvider(), Map.of("maxLength", "8")))) {
            List<CheckResult> results = AttentionConformance.run(provider);
            assertThat(results).extracting(CheckResult::check).contains("matches-kernel-definition",
                    "gradient-inputs", "causal-no-leakage", "padding-ignored", "fully-masked-rows",
                    "batch-independent", "rejects-bad-input", "reproducible").doesNotContain("matches-full");
            assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
            assertThat(results).filteredOn(r -> r.check().equals("gradient-inputs")).singleElement()
                    .satisfies(r -> assertThat(r.detail()).contains("float64 kernel attention"));
        }
    }
}
