package org.xformers4j.attention.mixing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.attention.AttentionCases.assertElementsClose;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.toDouble;
import static org.xformers4j.attention.mixing.MixingCases.forward;
import static org.xformers4j.attention.mixing.MixingCases.gelu;
import static org.xformers4j.attention.mixing.MixingCases.parameters;
import static org.xformers4j.attention.mixing.MixingCases.randomized;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.mixing.ConvolutionalModulation.Dimensionality;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.FlopCount.Shape;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * {@link ConvolutionalModulation} against Conv2Former's convolutional modulation written out in
 * double precision with plain loops: per token, channel and kernel tap the position it reads
 * (along the sequence, centred or causal, or over an image grid with tokens off the grid), GELU of
 * the token's own query there or of the neighbour's key, the bias, the group map to the values'
 * size and the product with the value; padding; incremental decoding; gradients of the inputs and
 * parameters against finite differences of that reference; refusals; the conformance suite.
 */
class ConvolutionalModulationTest {

    private static final int B = 2;
    private static final int H = 2;
    private static final int D = 4;
    private static final int K = 3;

    /** Where the convolution runs and the masks. */
    private record Layout(int length, boolean causal, Grid grid, boolean[][] padded, Dimensionality dimensionality) {
    }

    private static ConvolutionalModulation mechanism(Dimensionality dimensionality, int valueDim, long seed) {
        ConvolutionalModulation attention = new ConvolutionalModulation(K, dimensionality);
        attention.initialize(H, D, valueDim, new SplittableRandom(seed));
        return randomized(attention, seed + 1, 0.6f);
    }

    /**
     * Conv2Former's modulation per batch element, head, token p and channel c, with the kernel w
     * ([H, D, K, K] with AUTO, [H, D, K] with SEQUENCE) and the bias b [H, D]:
     * a_c = b_c + Σ_taps w_tap · x, x = GELU(q_p) for the tap that reads p itself and GELU(k_s) (0
     * when s is padded) for one that reads a neighbour s; out_p[j] = (Σ_{c in j's group} a_c) · v_p[j],
     * 0 for a padded p. Groups: gcd(D, Dv) of them, channel c of D in group c / (D / g), j of Dv in
     * j / (Dv / g).
     */
    private static double[] reference(double[] q, double[] k, double[] v, double[] w, double[] bias, Layout layout,
                                      int dv) {
        int n = layout.length;
        int groups = java.math.BigInteger.valueOf(D).gcd(java.math.BigInteger.valueOf(dv)).intValue();
        double[] out = new double[B * H * n * dv];
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H;
            int h = bh % H;
            for (int p = 0; p < n; p++) {
                if (padded(layout, b, p)) {
                    continue;
                }
                double[] a = new double[D];
                for (int c = 0; c < D; c++) {
                    a[c] = bias[h * D + c];
                    for (int[] tap : taps(p, layout)) {
                        int s = tap[0];
                        double x = s == p ? gelu(q[(bh * n + p) * D + c])
                                : padded(layout, b, s) ? 0 : gelu(k[(bh * n + s) * D + c]);
                        a[c] += w[(h * D + c) * tap[2] + tap[1]] * x;
                    }
                }
                for (int j = 0; j < dv; j++) {
                    double modulation = 0;
                    for (int c = 0; c < D; c++) {
                        modulation += c / (D / groups) == j / (dv / groups) ? a[c] : 0;
                    }
                    out[(bh * n + p) * dv + j] = modulation * v[(bh * n + p) * dv + j];
                }
            }
        }
        return out;
    }

    private static boolean padded(Layout layout, int b, int p) {
        return layout.padded != null && layout.padded[b][p];
    }

    /**
     * The taps of output p: {source position, index of its weight within the channel's kernel,
     * entries per channel's kernel}, for the sources inside the sequence or image.
     */
    private static List<int[]> taps(int p, Layout layout) {
        List<int[]> out = new java.util.ArrayList<>();
        Grid grid = layout.dimensionality == Dimensionality.AUTO ? layout.grid : null;
        int entries = layout.dimensionality == Dimensionality.AUTO ? K * K : K;
        int row = layout.dimensionality == Dimensionality.AUTO ? K / 2 * K : 0;   // a sequence's row of a K×K kernel
        if (grid == null) {
            for (int t = 0; t < K; t++) {
                int s = p + (layout.causal ? t - (K - 1) : t - K / 2);
                if (s >= 0 && s < layout.length) {
                    out.add(new int[] {s, row + t, entries});
                }
            }
            return out;
        }
        int cell = p - grid.start();
        if (cell < 0 || cell >= grid.cells()) {
            out.add(new int[] {p, K / 2 * K + K / 2, entries});
            return out;
        }
        for (int dr = 0; dr < K; dr++) {
            for (int dc = 0; dc < K; dc++) {
                int r = cell / grid.cols() + dr - K / 2;
                int c = cell % grid.cols() + dc - K / 2;
                if (r >= 0 && r < grid.rows() && c >= 0 && c < grid.cols()) {
                    out.add(new int[] {grid.start() + r * grid.cols() + c, dr * K + dc, entries});
                }
            }
        }
        return out;
    }

    private static AttentionContext context(Layout layout) {
        return paddedContext(layout.padded, layout.causal).toBuilder().grid(layout.grid).build();
    }

    private static void assertMatchesReference(Layout layout, int dv, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, layout.length, D);
        Tensor k = Tensor.randn(rng, B, H, layout.length, D);
        Tensor v = Tensor.randn(rng, B, H, layout.length, dv);
        ConvolutionalModulation attention = mechanism(layout.dimensionality, dv, seed);
        double[][] p = parameters(attention);
        assertElementsClose(forward(attention, q, k, v, context(layout)), reference(toDouble(q.toFloatArray()),
                toDouble(k.toFloatArray()), toDouble(v.toFloatArray()), p[0], p[1], layout, dv), 2e-5);
    }

    @Test
    void alongASequenceEqualsTheReferenceCentredOrCausalForAnyValueSize() {
        long seed = 1;
        for (Dimensionality dimensionality : Dimensionality.values()) {
            for (boolean causal : new boolean[] {false, true}) {
                for (int dv : new int[] {D, 3, 6}) {
                    assertMatchesReference(new Layout(9, causal, null, null, dimensionality), dv, seed++);
                }
            }
        }
    }

    @Test
    void overAnImageGridEqualsThe2dReferenceUnlessToldToConvolveTheSequence() {
        assertMatchesReference(new Layout(12, false, new Grid(0, 3, 4), null, Dimensionality.AUTO), D, 20);
        assertMatchesReference(new Layout(8, false, new Grid(1, 2, 3), null, Dimensionality.AUTO), 3, 21);
        assertMatchesReference(new Layout(12, false, new Grid(0, 3, 4), null, Dimensionality.SEQUENCE), D, 22);
    }

    @Test
    void paddedTokensAreZeroBeforeTheConvolutionOutputZerosAndHaveNoInfluence() {
        boolean[][] padded = padLast(B, 9, 3);
        for (boolean causal : new boolean[] {false, true}) {
            assertMatchesReference(new Layout(9, causal, null, padded, Dimensionality.AUTO), D, causal ? 30 : 31);
        }
        assertMatchesReference(new Layout(12, false, new Grid(0, 3, 4), padLast(B, 12, 5), Dimensionality.AUTO), 3,
                32);
        SplittableRandom rng = new SplittableRandom(33);
        Tensor q = Tensor.randn(rng, B, H, 9, D);
        Tensor k = Tensor.randn(rng, B, H, 9, D);
        Tensor v = Tensor.randn(rng, B, H, 9, D);
        ConvolutionalModulation attention = mechanism(Dimensionality.AUTO, D, 33);
        AttentionContext context = paddedContext(padded, false);
        float[] before = forward(attention, q, k, v, context);
        float[] after = forward(attention, shiftPadded(q, padded, 3f, 1f), shiftPadded(k, padded, 5f, 0.5f),
                shiftPadded(v, padded, -7f, 1f), context);
        assertThat(after).containsExactly(before);
    }

    @Test
    void decodingTheLastTokensOverAKeyCacheGivesTheRowsOfOneCausalPass() {
        SplittableRandom rng = new SplittableRandom(40);
        int n = 11;
        Tensor q = Tensor.randn(rng, B, H, n, D);
        Tensor k = Tensor.randn(rng, B, H, n, D);
        Tensor v = Tensor.randn(rng, B, H, n, 3);
        ConvolutionalModulation attention = mechanism(Dimensionality.AUTO, 3, 40);
        AttentionContext causal = paddedContext(padLast(B, n, 2), true);
        float[] whole = forward(attention, q, k, v, causal);
        for (int last : new int[] {1, 2, 5}) {
            float[] step = forward(attention, q.narrow(2, n - last, last), k, v, causal);
            for (int bh = 0; bh < B * H; bh++) {
                for (int e = 0; e < last * 3; e++) {
                    assertThat(step[bh * last * 3 + e]).as("last %d, row %d element %d", last, bh, e)
                            .isCloseTo(whole[(bh * n + n - last) * 3 + e], Offset.offset(1e-6f));
                }
            }
        }
    }

    @Test
    void gradientsOfTheInputsAndParametersMatchFiniteDifferencesOfTheReference() {
        List<Layout> layouts = List.of(new Layout(7, false, null, padLast(B, 7, 2), Dimensionality.AUTO),
                new Layout(7, true, null, padLast(B, 7, 2), Dimensionality.SEQUENCE),
                new Layout(7, false, new Grid(1, 2, 3), null, Dimensionality.AUTO));
        long seed = 50;
        for (Layout layout : layouts) {
            int dv = seed == 50 ? D : 3;
            SplittableRandom rng = new SplittableRandom(seed);
            ConvolutionalModulation attention = mechanism(layout.dimensionality, dv, seed++);
            Tensor[] leaves = {GradCheck.input(rng, B, H, 7, D), GradCheck.input(rng, B, H, 7, D),
                    GradCheck.input(rng, B, H, 7, dv), attention.namedParameters().get("kernel"),
                    attention.namedParameters().get("bias")};
            AttentionContext context = context(layout);
            GradCheck.of("conv-modulation " + layout, in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> reference(ref[0], ref[1], ref[2], ref[3], ref[4], layout, dv), leaves).check();
        }
    }

    @Test
    void createsAKernelAndABiasPerChannelOfEachHead() {
        for (Dimensionality dimensionality : Dimensionality.values()) {
            ConvolutionalModulation attention = new ConvolutionalModulation(11, dimensionality);
            attention.initialize(3, 8, new SplittableRandom(1));
            assertThat(attention.namedParameters().keySet()).containsExactly("kernel", "bias");
            assertThat(attention.namedParameters().get("kernel").shape()).containsExactly(
                    dimensionality == Dimensionality.AUTO ? new int[] {3, 8, 11, 11} : new int[] {3, 8, 11});
            float bound = dimensionality == Dimensionality.AUTO ? 1f / 11 : 1f / (float) Math.sqrt(11);
            for (float w : attention.namedParameters().get("kernel").toFloatArray()) {
                assertThat(w).isBetween(-bound, bound);
            }
            assertThat(attention.noDecayParameterNames()).containsExactly("bias");
        }
    }

    @Test
    void refusesACausalGridAGridThatDoesNotFitCrossAttentionAndBadKernelSizes() {
        ConvolutionalModulation attention = mechanism(Dimensionality.AUTO, D, 60);
        Tensor q = Tensor.zeros(1, H, 6, D);
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder().causal(true)
                .grid(new Grid(0, 2, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal context with an image grid");
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder().grid(new Grid(1, 2, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> attention.forward(q.narrow(2, 0, 4), q, q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one sequence")
                .hasMessageContaining("[1, 2, 4, 4]");
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 6, 6)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        for (String bad : new String[] {"4", "0", "65", "x"}) {
            assertThatThrownBy(() -> new ConvolutionalModulationProvider().create(Map.of("kernelSize", bad)))
                    .as("kernelSize '%s'", bad).hasMessageContaining("kernelSize");
        }
        assertThat(new ConvolutionalModulationProvider().create(Map.of("kernelSize", "7", "dimensionality",
                "SEQUENCE")).toString()).isEqualTo("ConvolutionalModulation(kernelSize=7, dimensionality=SEQUENCE)");
    }

    @Test
    void describesItselfAndCountsItsFlops() {
        ComponentDescriptor d = new ConvolutionalModulationProvider().descriptor();
        assertThat(d.name()).isEqualTo("conv-modulation");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(Arrays.asList(c.causal(), c.crossAttention(), c.keyPaddingMask(), c.additiveBias(),
                c.incrementalDecoding(), c.exact(), c.linearMemory(), c.grid())).containsExactly(true, false, true,
                false, true, false, true, true);
        assertThat(d.hyperparameter("kernelSize").orElseThrow().defaultValue()).isEqualTo("11");
        ConvolutionalModulation attention = mechanism(Dimensionality.AUTO, D, 1);
        assertThat(attention.forwardFlops(new Shape(2, 3, 100, 100, 16, 16, false)))
                .isEqualTo(2.0 * 2 * 3 * 100 * K * 16);
        assertThat(attention.forwardFlops(new Shape(2, 3, 100, 100, 16, 8, false)))
                .isEqualTo(2.0 * 2 * 3 * 100 * (K * 16 + 16 * 8));
    }

    @Test
    void passesTheConformanceSuite() {
        MixingCases.assertPassesTheConformanceSuite(new ConvolutionalModulationProvider(), "gradient-inputs",
                "gradient-parameters", "causal-no-leakage", "padding-ignored", "fully-masked-rows",
                "batch-independent", "linear-memory", "incremental-decoding", "cached-generation", "rejects-bad-input",
                "reproducible");
    }
}
