package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.attention.AttentionCases.allocatedBytes;
import static org.xformers4j.attention.AttentionCases.assertElementsClose;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.toDouble;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@link ReluLinearAttention} against EfficientViT's multi-scale ReLU linear attention written out
 * in double precision with plain loops: each scale's depth-wise convolution (along the sequence,
 * centred or causal, or 2-D over an image grid with tokens off the grid), its point-wise channel
 * mix, ReLU attention on the explicit N×N matrix with the masks applied, and the branches' learned
 * combination; gradients of the inputs and of every parameter against finite differences of that
 * reference; padding; refusals; memory; the conformance suite.
 */
class ReluLinearAttentionTest {

    private static final int B = 2;
    private static final int H = 2;
    private static final int D = 3;
    private static final int DV = 2;
    private static final int[] KERNELS = {3, 5};

    /** A mechanism for H heads of size D and values of size DV, its parameters from N(0, 0.5²) drawn with {@code seed}. */
    private static ReluLinearAttention mechanism(long seed) {
        ReluLinearAttention attention = new ReluLinearAttention(KERNELS, 1e-15f);
        attention.initialize(H, D, DV, new SplittableRandom(seed));
        SplittableRandom rng = new SplittableRandom(seed + 1);
        Map<String, ParameterState> state = new LinkedHashMap<>();
        for (Map.Entry<String, ParameterState> e : attention.stateDict().entrySet()) {
            float[] values = Tensor.randn(rng, e.getValue().values().length).mul(0.5f).toFloatArray();
            state.put(e.getKey(), new ParameterState(e.getValue().shape(), values));
        }
        attention.loadStateDict(state);
        return attention;
    }

    /** What the reference needs besides the inputs: where the convolutions run and the masks. */
    private record Layout(int length, boolean causal, Grid grid, boolean[][] padded) {
    }

    /**
     * The mechanism in double precision, [B, H, N, DV]. {@code params} holds the parameters in the
     * module's order: per kernel size, for query, key and value, the depth-wise kernels [H, C, K, K]
     * then the point-wise mix [H, C, C]; last the branch weights [H, S + 1].
     */
    private static double[] reference(double[] q, double[] k, double[] v, double[][] params, Layout layout) {
        int n = layout.length;
        double[][] qkv = {masked(q, D, layout), masked(k, D, layout), masked(v, DV, layout)};
        double[] weights = params[params.length - 1];
        double[] out = new double[B * H * n * DV];
        for (int s = 0; s <= KERNELS.length; s++) {
            double[][] streams = new double[3][];
            for (int i = 0; i < 3; i++) {
                int channels = i == 2 ? DV : D;
                streams[i] = s == 0 ? qkv[i] : pointwise(convolve(qkv[i], channels, params[(s - 1) * 6 + 2 * i],
                        KERNELS[s - 1], layout), channels, params[(s - 1) * 6 + 2 * i + 1], n);
            }
            double[] branch = attention(streams[0], streams[1], streams[2], layout);
            for (int e = 0; e < out.length; e++) {
                int h = e / (n * DV) % H;
                out[e] += weights[h * (KERNELS.length + 1) + s] * branch[e];
            }
        }
        return out;
    }

    /** x [B, H, N, C] with padded positions set to 0. */
    private static double[] masked(double[] x, int channels, Layout layout) {
        double[] out = x.clone();
        int n = layout.length;
        for (int e = 0; e < out.length; e++) {
            int position = e / channels % n;
            int b = e / (channels * n * H);
            if (layout.padded != null && layout.padded[b][position]) {
                out[e] = 0;
            }
        }
        return out;
    }

    /** The depth-wise convolution of x [B, H, N, C] with kernels w [H, C, K, K] in the layout's geometry. */
    private static double[] convolve(double[] x, int channels, double[] w, int kernel, Layout layout) {
        int n = layout.length;
        int half = kernel / 2;
        double[] out = new double[x.length];
        for (int bh = 0; bh < B * H; bh++) {
            int h = bh % H;
            for (int p = 0; p < n; p++) {
                for (int c = 0; c < channels; c++) {
                    double sum = 0;
                    for (int dr = 0; dr < kernel; dr++) {
                        for (int dc = 0; dc < kernel; dc++) {
                            int source = source(p, dr - half, dc - half, kernel, layout);
                            if (source >= 0) {
                                sum += w[((h * channels + c) * kernel + dr) * kernel + dc]
                                        * x[(bh * n + source) * channels + c];
                            }
                        }
                    }
                    out[(bh * n + p) * channels + c] = sum;
                }
            }
        }
        return out;
    }

    /** The position kernel offset (dr, dc) of output p reads, or -1 (padding, or a tap not used). */
    private static int source(int p, int dr, int dc, int kernel, Layout layout) {
        Grid grid = layout.grid;
        if (grid == null) {
            int shift = layout.causal ? dc - kernel / 2 : dc;   // causal: the taps -(K-1) .. 0
            int s = p + shift;
            return dr == 0 && s >= 0 && s < layout.length ? s : -1;
        }
        int cell = p - grid.start();
        if (cell < 0 || cell >= grid.cells()) {
            return dr == 0 && dc == 0 ? p : -1;
        }
        int r = cell / grid.cols() + dr;
        int c = cell % grid.cols() + dc;
        return r >= 0 && r < grid.rows() && c >= 0 && c < grid.cols() ? grid.start() + r * grid.cols() + c : -1;
    }

    /** x [B, H, N, C] times each head's mix m [H, C, C]. */
    private static double[] pointwise(double[] x, int channels, double[] m, int n) {
        double[] out = new double[x.length];
        for (int row = 0; row < B * H * n; row++) {
            int h = row / n % H;
            for (int e = 0; e < channels; e++) {
                for (int c = 0; c < channels; c++) {
                    out[row * channels + e] += x[row * channels + c] * m[(h * channels + c) * channels + e];
                }
            }
        }
        return out;
    }

    /** ReLU linear attention on the explicit N×N matrix, padded and (causal) later keys at weight 0. */
    private static double[] attention(double[] q, double[] k, double[] v, Layout layout) {
        int n = layout.length;
        double[] out = new double[B * H * n * DV];
        for (int bh = 0; bh < B * H; bh++) {
            for (int i = 0; i < n; i++) {
                double[] a = new double[n];
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    boolean visible = !(layout.causal && j > i) && !(layout.padded != null && layout.padded[bh / H][j]);
                    for (int c = 0; c < D && visible; c++) {
                        a[j] += Math.max(q[(bh * n + i) * D + c], 0) * Math.max(k[(bh * n + j) * D + c], 0);
                    }
                    sum += a[j];
                }
                for (int j = 0; j < n && sum != 0; j++) {
                    for (int e = 0; e < DV; e++) {
                        out[(bh * n + i) * DV + e] += a[j] / sum * v[(bh * n + j) * DV + e];
                    }
                }
            }
        }
        return out;
    }

    private static AttentionContext context(Layout layout) {
        return paddedContext(layout.padded, layout.causal).toBuilder().grid(layout.grid).build();
    }

    private static double[][] parameters(ReluLinearAttention attention) {
        List<double[]> out = new ArrayList<>();
        for (Tensor p : attention.namedParameters().values()) {
            out.add(toDouble(p.toFloatArray()));
        }
        return out.toArray(double[][]::new);
    }

    private static void assertMatchesReference(Layout layout, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, layout.length, D);
        Tensor k = Tensor.randn(rng, B, H, layout.length, D);
        Tensor v = Tensor.randn(rng, B, H, layout.length, DV);
        ReluLinearAttention attention = mechanism(seed);
        float[] actual;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            actual = attention.forward(q, k, v, context(layout)).toFloatArray();
        }
        assertElementsClose(actual, reference(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()),
                toDouble(v.toFloatArray()), parameters(attention), layout), 2e-5);
    }

    @Test
    void alongASequenceEqualsTheReferenceCentredOrCausal() {
        assertMatchesReference(new Layout(9, false, null, null), 1);
        assertMatchesReference(new Layout(9, true, null, null), 2);
    }

    @Test
    void overAnImageGridEqualsThe2dReferenceWithTokensOffTheGrid() {
        assertMatchesReference(new Layout(12, false, new Grid(0, 3, 4), null), 3);
        assertMatchesReference(new Layout(8, false, new Grid(1, 2, 3), null), 4);   // a CLS token before, one after
    }

    @Test
    void paddedPositionsAreZeroedBeforeTheConvolutionsAndHaveNoInfluence() {
        boolean[][] padded = padLast(B, 9, 3);
        assertMatchesReference(new Layout(9, false, null, padded), 5);
        assertMatchesReference(new Layout(9, true, null, padded), 6);
        SplittableRandom rng = new SplittableRandom(7);
        Tensor q = Tensor.randn(rng, B, H, 9, D);
        Tensor k = Tensor.randn(rng, B, H, 9, D);
        Tensor v = Tensor.randn(rng, B, H, 9, DV);
        ReluLinearAttention attention = mechanism(7);
        for (boolean causal : new boolean[] {false, true}) {
            AttentionContext context = paddedContext(padded, causal);
            float[] before = attention.forward(q, k, v, context).toFloatArray();
            float[] after = attention.forward(shiftPadded(q, padded, 3f, 1f), shiftPadded(k, padded, 5f, 0.5f),
                    shiftPadded(v, padded, -7f, 1f), context).toFloatArray();
            assertThat(after).as("causal %s", causal).containsExactly(before);
        }
    }

    @Test
    void aRightPaddedSequenceComputesWhatItWouldAlone() {
        SplittableRandom rng = new SplittableRandom(8);
        Tensor q = Tensor.randn(rng, 1, H, 9, D);
        Tensor k = Tensor.randn(rng, 1, H, 9, D);
        Tensor v = Tensor.randn(rng, 1, H, 9, DV);
        ReluLinearAttention attention = mechanism(8);
        float[] alone = attention.forward(q.narrow(2, 0, 6), k.narrow(2, 0, 6), v.narrow(2, 0, 6),
                AttentionContext.none()).toFloatArray();
        float[] padded = attention.forward(q, k, v, paddedContext(padLast(1, 9, 3), false)).toFloatArray();
        for (int h = 0; h < H; h++) {
            for (int e = 0; e < 6 * DV; e++) {
                assertThat(padded[h * 9 * DV + e]).as("head %d element %d", h, e)
                        .isCloseTo(alone[h * 6 * DV + e], Offset.offset(1e-6f));
            }
        }
    }

    @Test
    void gradientsOfTheInputsAndEveryParameterMatchFiniteDifferencesOfTheReference() {
        List<Layout> layouts = List.of(new Layout(7, false, null, padLast(B, 7, 2)),
                new Layout(7, true, null, padLast(B, 7, 2)), new Layout(7, false, new Grid(1, 2, 3), null));
        long seed = 10;
        for (Layout layout : layouts) {
            SplittableRandom rng = new SplittableRandom(seed);
            ReluLinearAttention attention = mechanism(seed++);
            List<Tensor> leaves = new ArrayList<>(List.of(GradCheck.input(rng, B, H, layout.length, D),
                    GradCheck.input(rng, B, H, layout.length, D), GradCheck.input(rng, B, H, layout.length, DV)));
            leaves.addAll(attention.namedParameters().values());
            AttentionContext context = context(layout);
            GradCheck.of("relu-linear, causal " + layout.causal + ", grid " + layout.grid,
                    in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> reference(ref[0], ref[1], ref[2], java.util.Arrays.copyOfRange(ref, 3, ref.length), layout),
                    leaves.toArray(Tensor[]::new)).check();
        }
    }

    @Test
    void startsWithEveryBranchWeighedEquallyAndKernelsPerHeadChannel() {
        ReluLinearAttention attention = new ReluLinearAttention(KERNELS, 1e-15f);
        attention.initialize(4, 8, new SplittableRandom(1));
        Map<String, Tensor> p = attention.namedParameters();
        assertThat(p.keySet()).containsExactly("queryDepthwise3", "queryPointwise3", "keyDepthwise3",
                "keyPointwise3", "valueDepthwise3", "valuePointwise3", "queryDepthwise5", "queryPointwise5",
                "keyDepthwise5", "keyPointwise5", "valueDepthwise5", "valuePointwise5", "branchWeights");
        assertThat(p.get("keyDepthwise5").shape()).containsExactly(4, 8, 5, 5);
        assertThat(p.get("valuePointwise3").shape()).containsExactly(4, 8, 8);
        assertThat(p.get("branchWeights").toFloatArray()).containsOnly(1f / 3);
        assertThat(attention.noDecayParameterNames()).containsExactly("branchWeights");
        for (float w : p.get("queryDepthwise5").toFloatArray()) {
            assertThat(w).isBetween(-0.2f, 0.2f);
        }
    }

    @Test
    void refusesCrossAttentionACausalGridABiasAndBadKernelSizes() {
        ReluLinearAttention attention = mechanism(20);
        Tensor q = Tensor.zeros(1, H, 6, D);
        Tensor v = Tensor.zeros(1, H, 6, DV);
        assertThatThrownBy(() -> attention.forward(q.narrow(2, 0, 4), q, v, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one sequence")
                .hasMessageContaining("[1, 2, 4, 3]");
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder().causal(true)
                .grid(new Grid(0, 2, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal context with an image grid");
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder().grid(new Grid(1, 2, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> attention.forward(q, q, v, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 6, 6)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        for (String bad : new String[] {"4", "3,3", "", "3,x", "17"}) {
            assertThatThrownBy(() -> new ReluLinearAttentionProvider().create(Map.of("kernelSizes", bad)))
                    .as("kernelSizes '%s'", bad).hasMessageContaining("relu-linear.kernelSizes");
        }
        assertThat(new ReluLinearAttentionProvider().create(Map.of("kernelSizes", " 7, 1 ")).kernelSizes())
                .containsExactly(7, 1);
    }

    /** Bytes allocated by forward and backward at length n and head size d (AttentionCases.allocatedBytes). */
    private static long allocated(int n, int d, boolean causal) {
        ReluLinearAttention attention = new ReluLinearAttention(KERNELS, 1e-15f);
        attention.initialize(2, d, new SplittableRandom(1));
        return allocatedBytes(attention, n, d, causal);
    }

    @Test
    void memoryGrowsLinearlyInTheLengthAndInTheHeadSize() {
        int n = 8192;
        for (boolean causal : new boolean[] {true, false}) {
            long bytes = allocated(n, 32, causal);
            long half = allocated(n / 2, 32, causal);
            long scores = 2L * n * n * Float.BYTES;             // [H, N, N] kernel matrix
            assertThat(bytes).as("bytes allocated by forward + backward at N = %d, causal %s", n, causal)
                    .isLessThan(scores / 2);
            // (three branches of some 20 [H, N, D] tensors each): no N×N buffer, twice the length at most
            // about twice the bytes, and no N×D×D one (running states), twice the head size about twice too
            assertThat((double) bytes).as("causal %s, N = %d and %d", causal, n / 2, n)
                    .isLessThanOrEqualTo(2.2 * half);
            assertThat((double) allocated(n / 2, 64, causal)).as("causal %s, D = 32 and 64", causal)
                    .isLessThanOrEqualTo(2.2 * half);
        }
    }

    @Test
    void describesItself() {
        ComponentDescriptor d = new ReluLinearAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("relu-linear");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(c.causal()).isTrue();
        assertThat(c.crossAttention()).isFalse();
        assertThat(c.grid()).isTrue();
        assertThat(c.incrementalDecoding()).isFalse();
        assertThat(d.hyperparameter("kernelSizes").orElseThrow().defaultValue()).isEqualTo("3,5");
    }

    @Test
    void passesTheConformanceSuite() {
        List<CheckResult> results = AttentionConformance.run(new ReluLinearAttentionProvider());
        assertThat(results).extracting(CheckResult::check).contains("gradient-inputs", "gradient-parameters",
                "causal-no-leakage", "padding-ignored", "fully-masked-rows", "batch-independent",
                "rejects-bad-input", "reproducible");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }
}
