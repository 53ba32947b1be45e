package org.xformers4j.attention.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.AttentionCases;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

class SwinAttentionTest {

    private static final int BATCH = 2;
    private static final int HEADS = 2;
    private static final int HEAD_DIM = 4;
    private static final int VALUE_DIM = 3;

    /** A grid within a sequence and a window size. */
    private record Layout(Grid grid, int length, int window) {
    }

    /** The 4 × 4 patches of the digits after a CLS token. */
    private static final Layout DIGITS = new Layout(new Grid(1, 4, 4), 17, 2);
    /** Neither side a multiple of M (padded to 8 × 8), one token after the grid. */
    private static final Layout PADDED = new Layout(new Grid(0, 5, 6), 31, 4);
    /** Two rows, fewer than M (one unshifted band), two tokens before. */
    private static final Layout FLAT = new Layout(new Grid(2, 2, 6), 14, 4);
    /** Four windows of 4 × 4 exactly. */
    private static final Layout EVEN = new Layout(new Grid(0, 8, 8), 64, 4);
    /** One window covering the grid. */
    private static final Layout COVERED = new Layout(new Grid(0, 3, 3), 9, 7);

    private static SwinAttention swin(Layout layout, boolean shifted, boolean relativeBias) {
        SwinAttention attention = new SwinAttention(layout.window(), shifted ? SwinAttention.Shift.ALWAYS
                : SwinAttention.Shift.NONE, relativeBias, 0f);
        attention.initialize(HEADS, HEAD_DIM, new SplittableRandom(7));
        if (relativeBias) {
            // a table of ±0.5 rather than ±0.02, so that a wrong entry shows in the outputs and gradients
            try (var ignored = GradMode.noGrad()) {
                table(attention).copyFrom(Tensor.randn(new SplittableRandom(8), table(attention).shape()).mul(0.5f)
                        .toFloatArray());
            }
        }
        return attention;
    }

    private static Tensor table(SwinAttention attention) {
        return attention.namedParameters().get("relativePositionBiasTable");
    }

    private static AttentionContext context(Layout layout) {
        return AttentionContext.builder().grid(layout.grid()).build();
    }

    @Test
    void patternIsTorchvisionsShiftedWindowMaskWithTheRelativePositionTable() {
        for (Layout layout : List.of(DIGITS, PADDED, FLAT, EVEN, COVERED)) {
            for (boolean shifted : new boolean[] {false, true}) {
                SwinAttention attention = swin(layout, shifted, true);
                AttentionPattern pattern = attention.pattern(HEADS, layout.length(), layout.length(), context(layout));
                int[][] expected = ShiftedWindowsReference.pairs(layout.grid(), layout.length(), layout.window(),
                        shifted);
                float[] table = table(attention).toFloatArray();
                int entries = table.length / HEADS;
                for (int h = 0; h < HEADS; h++) {
                    for (int i = 0; i < layout.length(); i++) {
                        for (int j = 0; j < layout.length(); j++) {
                            String pair = layout + " shifted " + shifted + " head " + h + " pair (" + i + ", " + j + ")";
                            int e = expected[i][j];
                            assertThat(pattern.allows(h, i, j)).as(pair).isEqualTo(e != ShiftedWindowsReference.HIDDEN);
                            assertThat(pattern.bias(h, i, j)).as(pair).isEqualTo(e >= 0 ? table[h * entries + e] : 0f);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shiftingChangesThePartitionOnlyWhereTheGridIsLongerThanTheWindow() {
        double unshifted = swin(EVEN, false, false).pattern(1, 64, 64, context(EVEN)).density();
        double shifted = swin(EVEN, true, false).pattern(1, 64, 64, context(EVEN)).density();
        // 4 windows of 16 cells: 4·16² of the 64² pairs; shifted, the windows of the last bands split into regions
        assertThat(unshifted).isEqualTo(4 * 16 * 16 / (64.0 * 64));
        assertThat(shifted).isLessThan(unshifted);
        AttentionPattern covered = swin(COVERED, true, false).pattern(1, 9, 9, context(COVERED));
        assertThat(covered.density()).as("a 3 x 3 grid in one 7 x 7 window, not shifted").isEqualTo(1.0);
    }

    /** The inputs of a check: the layout, the windows, the relative bias, padding and the shape of a context bias. */
    private record Case(Layout layout, boolean shifted, boolean relativeBias, boolean[][] padded, int[] biasShape) {

        String label() {
            return layout + (shifted ? " shifted" : "") + (relativeBias ? " +table" : "")
                    + (padded != null ? " +padded" : "") + (biasShape != null ? " +bias" : "");
        }

        AttentionContext context(Tensor bias) {
            return AttentionCases.context(false, bias, AttentionCases.paddingMask(padded), layout.length())
                    .grid(layout.grid()).build();
        }
    }

    private static List<Case> cases() {
        boolean[][] padDigits = AttentionCases.padLast(BATCH, DIGITS.length(), 5);
        boolean[][] padPadded = AttentionCases.padLast(BATCH, PADDED.length(), 9);
        int n = DIGITS.length();
        return List.of(
                new Case(DIGITS, false, false, null, null),
                new Case(DIGITS, true, false, null, null),
                new Case(DIGITS, false, true, null, null),
                new Case(DIGITS, true, true, padDigits, new int[] {BATCH, HEADS, n, n}),
                new Case(DIGITS, true, true, null, new int[] {1, n}),
                new Case(PADDED, true, true, padPadded, new int[] {HEADS, PADDED.length(), PADDED.length()}),
                new Case(PADDED, false, true, null, null),
                new Case(FLAT, true, true, null, new int[] {FLAT.length(), 1}));
    }

    @Test
    void forwardAndInputGradientsEqualFloat64SoftmaxOverThePattern() {
        long seed = 11;
        for (Case c : cases()) {
            SwinAttention attention = swin(c.layout(), c.shifted(), c.relativeBias());
            int n = c.layout().length();
            AttentionPattern pattern = attention.pattern(HEADS, n, n, c.context(null));
            Tensor[] inputs = AttentionCases.inputs(seed++, BATCH, HEADS, n, n, HEAD_DIM, VALUE_DIM, c.biasShape());
            GradCheck.of(c.label(), in -> attention.forward(in[0], in[1], in[2], c.context(in.length > 3 ? in[3] : null)),
                    in -> reference(c, pattern, null, in), inputs).check();
        }
    }

    @Test
    void gradientOfTheRelativePositionTableEqualsFiniteDifferencesOfTheFloat64Reference() {
        long seed = 31;
        for (Case c : cases()) {
            if (!c.relativeBias()) {
                continue;
            }
            SwinAttention attention = swin(c.layout(), c.shifted(), true);
            int n = c.layout().length();
            AttentionPattern pattern = attention.pattern(HEADS, n, n, c.context(null));
            Tensor[] inputs = AttentionCases.inputs(seed++, BATCH, HEADS, n, n, HEAD_DIM, VALUE_DIM, c.biasShape());
            Tensor out = attention.forward(inputs[0], inputs[1], inputs[2], c.context(inputs.length > 3 ? inputs[3] : null));
            float[] weights = Tensor.randn(new SplittableRandom(seed++), out.shape()).toFloatArray();
            out.mul(Tensor.of(weights, out.shape())).sum().backward();
            float[] analytic = table(attention).grad().toFloatArray();
            double[][] in = new double[inputs.length][];
            for (int a = 0; a < inputs.length; a++) {
                in[a] = AttentionCases.toDouble(inputs[a].toFloatArray());
            }
            double step = 1e-6;
            double largest = 0;
            double[] numeric = new double[analytic.length];
            for (int e = 0; e < analytic.length; e++) {
                double[] delta = new double[analytic.length];
                delta[e] = step;
                double up = dot(weights, reference(c, pattern, delta, in));
                delta[e] = -step;
                double down = dot(weights, reference(c, pattern, delta, in));
                numeric[e] = (up - down) / (2 * step);
                largest = Math.max(largest, Math.abs(numeric[e]));
            }
            assertThat(largest).as("%s: some table entry is used", c.label()).isGreaterThan(0.01);
            for (int e = 0; e < analytic.length; e++) {
                assertThat((double) analytic[e]).as("%s: d/d table element %d", c.label(), e)
                        .isCloseTo(numeric[e], within(2e-4 * (1 + largest)));
            }
        }
    }

    private static double dot(float[] w, double[] x) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += w[i] * x[i];
        }
        return s;
    }

    /**
     * Softmax attention in float64 over the pairs the pattern allows, each score
     * {@code q·k/sqrt(d) + context bias + pattern bias} (+ {@code tableDelta} of the pair's table
     * entry, for finite differences in the table), padded keys and -∞ scores masked, zeros for a
     * query that sees no key. {@code in}: q, k, v and the context bias in its own shape.
     */
    private static double[] reference(Case c, AttentionPattern pattern, double[] tableDelta, double[][] in) {
        int n = c.layout().length();
        int[][] entry = ShiftedWindowsReference.pairs(c.layout().grid(), n, c.layout().window(), c.shifted());
        int entries = (2 * c.layout().window() - 1) * (2 * c.layout().window() - 1);
        int[] s = {1, 1, 1, 1};
        if (c.biasShape() != null) {
            System.arraycopy(c.biasShape(), 0, s, 4 - c.biasShape().length, c.biasShape().length);
        }
        double scale = 1 / Math.sqrt(HEAD_DIM);
        double[] out = new double[BATCH * HEADS * n * VALUE_DIM];
        double[] score = new double[n];
        for (int b = 0; b < BATCH; b++) {
            for (int h = 0; h < HEADS; h++) {
                int bh = b * HEADS + h;
                for (int i = 0; i < n; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        score[j] = Double.NEGATIVE_INFINITY;
                        if (!pattern.allows(h, i, j) || c.padded() != null && c.padded()[b][j]) {
                            continue;
                        }
                        double dot = 0;
                        for (int d = 0; d < HEAD_DIM; d++) {
                            dot += in[0][(bh * n + i) * HEAD_DIM + d] * in[1][(bh * n + j) * HEAD_DIM + d];
                        }
                        double bias = pattern.bias(h, i, j);
                        if (tableDelta != null && entry[i][j] >= 0) {
                            bias += tableDelta[h * entries + entry[i][j]];
                        }
                        if (c.biasShape() != null) {
                            bias += in[3][(((s[0] == 1 ? 0 : b) * s[1] + (s[1] == 1 ? 0 : h)) * s[2]
                                    + (s[2] == 1 ? 0 : i)) * s[3] + (s[3] == 1 ? 0 : j)];
                        }
                        score[j] = scale * dot + bias;
                        max = Math.max(max, score[j]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        score[j] = Math.exp(score[j] - max);
                        sum += score[j];
                    }
                    for (int j = 0; j < n; j++) {
                        for (int e = 0; e < VALUE_DIM; e++) {
                            out[(bh * n + i) * VALUE_DIM + e] += score[j] / sum * in[2][(bh * n + j) * VALUE_DIM + e];
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void aWindowCoveringTheGridWithoutTheTableIsFullAttention() {
        Tensor[] in = AttentionCases.inputs(3, BATCH, HEADS, 10, 10, HEAD_DIM, VALUE_DIM, null);
        AttentionContext context = AttentionContext.builder().grid(new Grid(1, 3, 3)).build();
        float[] full = new FullAttention(0f).forward(in[0], in[1], in[2], context).toFloatArray();
        float[] swin = new SwinAttention(64, SwinAttention.Shift.ALWAYS, false, 0f)
                .forward(in[0], in[1], in[2], context).toFloatArray();
        for (int e = 0; e < full.length; e++) {
            assertThat(swin[e]).as("element %d", e).isCloseTo(full[e], within(2e-6f));
        }
    }

    @Test
    void autoShiftsTheOddLayersOfAStack() {
        for (int layer = 0; layer < 4; layer++) {
            SwinAttention auto = new SwinAttention(2, SwinAttention.Shift.AUTO, true, 0f);
            SwinAttention none = new SwinAttention(2, SwinAttention.Shift.NONE, true, 0f);
            SwinAttention always = new SwinAttention(2, SwinAttention.Shift.ALWAYS, true, 0f);
            for (SwinAttention a : List.of(auto, none, always)) {
                a.placeInStack(layer, 4, new SharedParameters());
            }
            assertThat(auto.shifted()).as("layer %d", layer).isEqualTo(layer % 2 == 1);
            assertThat(none.shifted()).isFalse();
            assertThat(always.shifted()).isTrue();
        }
        assertThat(new SwinAttention(2, SwinAttention.Shift.AUTO, false, 0f).shifted())
                .as("a mechanism never placed is layer 0").isFalse();
        SwinAttention initialised = swin(DIGITS, false, true);
        assertThatThrownBy(() -> initialised.placeInStack(1, 2, new SharedParameters()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theTableIsATruncatedNormalOfStd002PerHeadWithoutWeightDecay() {
        SwinAttention attention = new SwinAttention(7, SwinAttention.Shift.AUTO, true, 0f);
        attention.initialize(16, 8, new SplittableRandom(5));
        Tensor table = table(attention);
        assertThat(table.shape()).containsExactly(16, 13 * 13);
        assertThat(attention.noDecayParameterNames()).contains("relativePositionBiasTable");
        double sum = 0;
        double squares = 0;
        for (float x : table.toFloatArray()) {
            assertThat(Math.abs(x)).isLessThanOrEqualTo(2f);
            sum += x;
            squares += x * x;
        }
        int count = table.numel();
        double std = Math.sqrt(squares / count - (sum / count) * (sum / count));
        assertThat(std).isBetween(0.018, 0.022);
        assertThat(new SwinAttention(7, SwinAttention.Shift.AUTO, false, 0f).namedParameters()).isEmpty();
    }

    @Test
    void refusesWhatItCannotHonourNamingIt() {
        SwinAttention attention = swin(DIGITS, true, true);
        Tensor[] in = AttentionCases.inputs(1, BATCH, HEADS, 17, 17, HEAD_DIM, VALUE_DIM, null);
        Tensor fewer = in[0].narrow(2, 0, 5);
        Map<String, Runnable> calls = Map.of(
                "grid", () -> attention.forward(in[0], in[1], in[2], AttentionContext.none()),
                "causal", () -> attention.forward(in[0], in[1], in[2], context(DIGITS).toBuilder().causal(true).build()),
                "[2, 2, 5, 4]", () -> attention.forward(fewer, in[1], in[2], context(DIGITS)),
                "does not fit", () -> attention.forward(in[0], in[1], in[2],
                        AttentionContext.builder().grid(new Grid(2, 4, 4)).build()),
                "initialised for 2 heads", () -> attention.forward(in[0].narrow(1, 0, 1), in[1].narrow(1, 0, 1),
                        in[2].narrow(1, 0, 1), context(DIGITS)));
        calls.forEach((mention, call) -> assertThatThrownBy(call::run).as(mention)
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("swin").hasMessageContaining(mention));
        assertThatThrownBy(() -> new SwinAttention(2, SwinAttention.Shift.NONE, true, 0f)
                .forward(in[0], in[1], in[2], context(DIGITS))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("initialize");
        SwinAttentionProvider provider = new SwinAttentionProvider();
        assertThatThrownBy(() -> provider.create(Map.of("numMemoryKv", "2"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("numMemoryKv");
        assertThatThrownBy(() -> provider.create(Map.of("window", "0"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("window");
        assertThatThrownBy(() -> provider.create(Map.of("shift", "SOMETIMES"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("shift");
    }

    @Test
    void countsTheScoresOfEachQueryAgainstItsWindow() {
        FlopCount swin = new SwinAttention(7, SwinAttention.Shift.AUTO, true, 0f);
        FlopCount.Shape shape = FlopCount.Shape.self(2, 3, 56 * 56, 32, false);
        assertThat(swin.forwardFlops(shape)).isEqualTo(2.0 * 2 * 3 * 56 * 56 * 49 * (32 + 32));
        assertThat(swin.backwardFlops(shape)).isEqualTo(2 * swin.forwardFlops(shape));
    }
}
