package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.compute.Buffer;

class CpuFlashAttentionTest {

    private static final Parallel TWO = new Parallel(2);
    private static final CpuBackend BACKEND = new CpuBackend(TWO, Sgemm.best());
    private static final CpuFlashAttention SIMD =
            new CpuFlashAttention(TWO, TileGemm.best(), ContiguousLoops.best(), BACKEND::allocate);
    private static final CpuFlashAttention SCALAR =
            new CpuFlashAttention(TWO, ScalarTileGemm.INSTANCE, ScalarLoops.INSTANCE, BACKEND::allocate);

    /** Which keys are padded: none, a few per batch row, or a few and every key of the last batch row. */
    private enum Padding { NONE, SOME, LAST_ROW_ALL }

    /** A problem and its random inputs (standard normal), the padding mask and an output gradient. */
    private record Case(String name, AttentionProblem p, Padding padding) {

        static Case of(String name, int batch, int heads, int lq, int lk, int d, int dv) {
            return new Case(name, new AttentionProblem(batch, heads, lq, lk, d, dv, (float) (1 / Math.sqrt(d)), false,
                    null, 0f, 0L), Padding.NONE);
        }

        Case causal() {
            return with(p.scale(), true, p.biasShape(), p.dropout(), padding);
        }

        Case bias(int... shape) {
            return with(p.scale(), p.causal(), shape, p.dropout(), padding);
        }

        Case dropout(float rate) {
            return with(p.scale(), p.causal(), p.biasShape(), rate, padding);
        }

        Case padding(Padding value) {
            return with(p.scale(), p.causal(), p.biasShape(), p.dropout(), value);
        }

        Case scale(float value) {
            return with(value, p.causal(), p.biasShape(), p.dropout(), padding);
        }

        private Case with(float scale, boolean causal, int[] biasShape, float dropout, Padding pad) {
            return new Case(name, new AttentionProblem(p.batch(), p.heads(), p.queryLength(), p.keyLength(),
                    p.headDim(), p.valueDim(), scale, causal, biasShape, dropout, 0x5EEDL), pad);
        }

        float[][] inputs(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            int bh = p.batch() * p.heads();
            float[] mask = null;
            if (padding != Padding.NONE) {
                mask = new float[p.batch() * p.keyLength()];
                for (int b = 0; b < p.batch(); b++) {
                    for (int j = 0; j < p.keyLength(); j++) {
                        boolean all = padding == Padding.LAST_ROW_ALL && b == p.batch() - 1;
                        mask[b * p.keyLength() + j] = all || (j * 7 + b * 3) % 5 == 1 ? 1f : 0f;
                    }
                }
            }
            int[] bs = p.biasShape();
            return new float[][] {
                randn(rng, bh * p.queryLength() * p.headDim()), randn(rng, bh * p.keyLength() * p.headDim()),
                randn(rng, bh * p.keyLength() * p.valueDim()),
                bs == null ? null : randn(rng, bs[0] * bs[1] * bs[2] * bs[3]), mask,
                randn(rng, bh * p.queryLength() * p.valueDim())};
        }
    }

    /** Outputs of the kernel: out, row statistics (maxima, then reciprocal sums), dq, dk, dv, dBias. */
    private static float[][] run(CpuFlashAttention kernel, AttentionProblem p, float[][] in) {
        return run(kernel, p, in, null);
    }

    /** {@link #run} with the backward in a single pass or in two, or ({@code null}) as the kernel chooses. */
    private static float[][] run(CpuFlashAttention kernel, AttentionProblem p, float[][] in, Boolean singlePass) {
        int bh = p.batch() * p.heads();
        float[] out = new float[bh * p.queryLength() * p.valueDim()];
        float[] stats = new float[2 * bh * p.queryLength()];
        kernel.forward(p, in[0], in[1], in[2], in[3], in[4], out, stats);
        float[] dq = filled(in[0].length);
        float[] dk = filled(in[1].length);
        float[] dv = filled(in[2].length);
        float[] dBias = in[3] == null ? null : filled(in[3].length);
        if (singlePass == null) {
            kernel.backward(p, in[0], in[1], in[2], in[3], in[4], out, stats, in[5], dq, dk, dv, dBias);
        } else {
            kernel.backward(p, in[0], in[1], in[2], in[3], in[4], out, stats, in[5], dq, dk, dv, dBias, singlePass);
        }
        return new float[][] {out, stats, dq, dk, dv, dBias};
    }

    /** NaN-filled, so that an element the kernel forgets to write fails the comparison. */
    private static float[] filled(int n) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, Float.NaN);
        return x;
    }

    private static final List<Case> CASES = List.of(
            Case.of("tiny", 1, 1, 1, 1, 1, 1),
            Case.of("small cross-attention", 2, 3, 5, 7, 3, 4),
            Case.of("blocks with ragged edges, D below a vector", 1, 2, 70, 130, 20, 33),
            Case.of("whole blocks", 2, 1, 64, 128, 64, 64).scale(0.3f),
            Case.of("causal self-attention", 1, 2, 130, 130, 16, 16).causal(),
            Case.of("causal decoding, Lq < Lk", 1, 2, 3, 150, 8, 8).causal(),
            Case.of("causal, Lq > Lk: first queries see nothing", 2, 1, 70, 5, 4, 3).causal(),
            Case.of("padding, a batch row all padded", 2, 2, 9, 80, 5, 6).padding(Padding.LAST_ROW_ALL),
            Case.of("bias [B, H, Lq, Lk]", 2, 2, 67, 70, 8, 4).bias(2, 2, 67, 70),
            Case.of("bias [1, H, Lq, Lk]", 2, 2, 67, 70, 8, 4).bias(1, 2, 67, 70),
            Case.of("bias [1, 1, 1, Lk]", 2, 2, 67, 70, 8, 4).bias(1, 1, 1, 70),
            Case.of("bias [B, 1, Lq, 1]", 2, 2, 67, 70, 8, 4).bias(2, 1, 67, 1),
            Case.of("dropout", 2, 2, 66, 70, 8, 5).dropout(0.3f),
            Case.of("everything", 2, 2, 66, 140, 12, 17).causal().bias(1, 2, 66, 140).dropout(0.2f)
                    .padding(Padding.SOME));

    @Test
    void forwardAndGradientsMatchTheFloat64Reference() {
        long seed = 1;
        for (Case c : CASES) {
            float[][] in = c.inputs(seed++);
            AttentionProblem p = c.p();
            double[] ref = AttentionReference.forward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]), in[4]);
            AttentionReference.Gradients g = AttentionReference.backward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]),
                    in[4], d(in[5]));
            for (var kernel : List.of(SIMD, SCALAR)) {
                String name = c.name() + (kernel == SIMD ? " (simd)" : " (scalar)");
                float[][] r = run(kernel, p, in);
                assertClose(name + ": out", r[0], ref, 2e-5);
                assertClose(name + ": dq", r[2], g.query(), 1e-4);
                assertClose(name + ": dk", r[3], g.key(), 1e-4);
                assertClose(name + ": dv", r[4], g.value(), 1e-4);
                if (p.biasShape() != null) {
                    assertClose(name + ": dBias", r[5], g.bias(), 1e-4);
                }
            }
        }
    }

    @Test
    void fullyMaskedQueriesGetZerosAndZeroStatistics() {
        Case c = Case.of("", 2, 1, 70, 5, 4, 3).causal().padding(Padding.LAST_ROW_ALL).bias(2, 1, 70, 5);
        float[][] in = c.inputs(3);
        // a bias of -∞ masks like padding: query 69 of batch row 0 sees no key either
        java.util.Arrays.fill(in[3], 69 * 5, 70 * 5, Float.NEGATIVE_INFINITY);
        for (var kernel : List.of(SIMD, SCALAR)) {
            float[][] r = run(kernel, c.p(), in);
            // queries 0 .. 64 of batch row 0 sit before key 0; batch row 1 pads every key
            int rows = 140;
            for (int i = 0; i < rows; i++) {
                boolean masked = i < 65 || i == 69 || i >= 70;
                assertThat(r[1][i]).as("max of query %d", i).isFinite();
                if (masked) {
                    assertThat(r[1][i]).as("max of query %d", i).isZero();
                    assertThat(r[1][rows + i]).as("1 / sum of query %d", i).isZero();
                    for (int e = 0; e < 3; e++) {
                        assertThat(r[0][i * 3 + e]).as("output of query %d", i).isZero();
                    }
                } else {
                    assertThat(r[1][rows + i]).as("1 / sum of query %d", i).isBetween(0.2f, 1f);
                }
            }
            for (int t = 2; t < r.length; t++) {
                for (float x : r[t]) {
                    assertThat(x).as("gradient %d", t).isFinite();
                }
            }
            // batch row 1 and query 69 of row 0 pass no gradient to the queries or the bias
            for (int e = 0; e < 4; e++) {
                assertThat(r[2][69 * 4 + e]).isZero();
                assertThat(r[2][(70 + 69) * 4 + e]).isZero();
            }
            for (int j = 0; j < 5; j++) {
                assertThat(r[5][69 * 5 + j]).isZero();
                assertThat(r[5][(70 + 3) * 5 + j]).isZero();
            }
        }
    }

    @Test
    void backwardStaysExactWhenTheScoresAreHuge() {
        // a bias near -1e8 (float32 values 8 apart there) with several keys sharing each row's maximum:
        // one float log-sum-exp m + ln(sum) rounds to m there, and the weights it recomputes sum to more than 1
        Case c = Case.of("", 2, 2, 67, 70, 8, 4).causal().bias(2, 2, 67, 70);
        float[][] in = c.inputs(9);
        SplittableRandom rng = new SplittableRandom(10);
        for (int e = 0; e < in[3].length; e++) {
            in[3][e] = -1e8f - 8f * rng.nextInt(2);
        }
        for (int t = 0; t < 2; t++) {
            for (int e = 0; e < in[t].length; e++) {
                in[t][e] *= 1e-3f;
            }
        }
        AttentionProblem p = c.p();
        double[] ref = AttentionReference.forward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]), in[4]);
        AttentionReference.Gradients g = AttentionReference.backward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]),
                in[4], d(in[5]));
        for (var kernel : List.of(SIMD, SCALAR)) {
            float[][] r = run(kernel, p, in);
            assertClose("out", r[0], ref, 2e-5);
            assertClose("dq", r[2], g.query(), 1e-4);
            assertClose("dk", r[3], g.key(), 1e-4);
            assertClose("dv", r[4], g.value(), 1e-4);
            assertClose("dBias", r[5], g.bias(), 1e-4);
        }
    }

    @Test
    void referenceGradientsMatchFiniteDifferences() {
        // checks the hand-derived float64 backward the kernel is compared with
        Case c = Case.of("", 2, 2, 3, 5, 3, 2).causal().bias(1, 2, 3, 5).dropout(0.25f).padding(Padding.SOME);
        AttentionProblem p = c.p();
        float[][] f = c.inputs(4);
        double[][] in = {d(f[0]), d(f[1]), d(f[2]), d(f[3])};
        double[] gradOut = d(f[5]);
        AttentionReference.Gradients g = AttentionReference.backward(p, in[0], in[1], in[2], in[3], f[4], gradOut);
        double[][] analytic = {g.query(), g.key(), g.value(), g.bias()};
        double h = 1e-6;
        for (int t = 0; t < 4; t++) {
            for (int e = 0; e < in[t].length; e++) {
                double x = in[t][e];
                in[t][e] = x + h;
                double plus = dot(gradOut, AttentionReference.forward(p, in[0], in[1], in[2], in[3], f[4]));
                in[t][e] = x - h;
                double minus = dot(gradOut, AttentionReference.forward(p, in[0], in[1], in[2], in[3], f[4]));
                in[t][e] = x;
                assertThat(analytic[t][e]).as("input %d element %d", t, e)
                        .isCloseTo((plus - minus) / (2 * h), org.assertj.core.api.Assertions.within(1e-6));
            }
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        Case c = Case.of("", 2, 3, 150, 140, 16, 8).causal().bias(1, 3, 150, 1).dropout(0.1f).padding(Padding.SOME);
        float[][] in = c.inputs(5);
        float[][] expected = run(new CpuFlashAttention(new Parallel(1), TileGemm.best(), ContiguousLoops.best(),
                BACKEND::allocate), c.p(), in);
        for (int threads : new int[] {2, 3}) {
            float[][] actual = run(new CpuFlashAttention(new Parallel(threads), TileGemm.best(), ContiguousLoops.best(),
                    BACKEND::allocate), c.p(), in);
            for (int t = 0; t < expected.length; t++) {
                assertThat(actual[t]).as("output %d with %d threads", t, threads).containsExactly(expected[t]);
            }
        }
    }

    @Test
    void singlePassAndTwoPassesGiveBitwiseTheSameGradients() {
        long seed = 20;
        for (Case c : CASES) {
            float[][] in = c.inputs(seed++);
            for (var kernel : List.of(SIMD, SCALAR)) {
                float[][] single = run(kernel, c.p(), in, true);
                float[][] two = run(kernel, c.p(), in, false);
                for (int t = 2; t < single.length; t++) {
                    assertThat(single[t]).as("%s%s: output %d", c.name(), kernel == SIMD ? " (simd)" : " (scalar)", t)
                            .isEqualTo(two[t]);
                }
            }
        }
    }

    @Test
    void singlePassOnlyWhereItsTasksKeepEveryThreadBusy() {
        assertThat(CpuFlashAttention.singlePass(8, 2)).isTrue();
        assertThat(CpuFlashAttention.singlePass(2, 1)).isTrue();
        assertThat(CpuFlashAttention.singlePass(12, 16)).isTrue();
        assertThat(CpuFlashAttention.singlePass(1, 2)).isFalse();
        assertThat(CpuFlashAttention.singlePass(2, 3)).isFalse();
        assertThat(CpuFlashAttention.singlePass(8, 16)).isFalse();
        // two heads: one thread runs the single pass, three the two passes, with the same results
        Case c = Case.of("", 1, 2, 150, 140, 16, 8).causal().bias(1, 2, 150, 140).dropout(0.1f).padding(Padding.SOME);
        float[][] in = c.inputs(7);
        float[][] one = run(new CpuFlashAttention(new Parallel(1), TileGemm.best(), ContiguousLoops.best(),
                BACKEND::allocate), c.p(), in);
        float[][] three = run(new CpuFlashAttention(new Parallel(3), TileGemm.best(), ContiguousLoops.best(),
                BACKEND::allocate), c.p(), in);
        for (int t = 0; t < one.length; t++) {
            assertThat(three[t]).as("output %d", t).containsExactly(one[t]);
        }
    }

    @Test
    void dropoutSeedDecidesTheMask() {
        Case c = Case.of("", 1, 2, 20, 30, 4, 4).dropout(0.4f);
        float[][] in = c.inputs(6);
        AttentionProblem p = c.p();
        AttentionProblem other = new AttentionProblem(1, 2, 20, 30, 4, 4, p.scale(), false, null, 0.4f, 7L);
        assertThat(run(SIMD, p, in)[0]).containsExactly(run(SIMD, p, in)[0]);
        assertThat(run(SIMD, other, in)[0]).isNotEqualTo(run(SIMD, p, in)[0]);
        int dropped = 0;
        int n = 0;
        for (int i = 0; i < 100; i++) {
            for (int j = 0; j < 100; j++, n++) {
                dropped += p.keeps(0, 1, i, j) ? 0 : 1;
            }
        }
        assertThat(dropped / (double) n).isBetween(0.38, 0.42);
        assertThat(new AttentionProblem(1, 1, 1, 1, 1, 1, 1f, false, null, 0f, 3L).keeps(0, 0, 0, 0)).isTrue();
    }

    @Test
    void extraMemoryGrowsLinearlyWithTheLength() {
        long small = peakExtraBytes(2048);
        long large = peakExtraBytes(4096);
        // per head, packed copies of K (twice) and V, and D: (2 D + Dv + 1) floats per key and query; per thread
        // (one here, so that the peak does not depend on which threads took tasks), a head's dK and dV:
        // (D + Dv) floats per key; never a length² buffer
        assertThat(large).isLessThanOrEqualTo(4L * 4096 * (2 * (16 + 16 + 16 + 1) + 2 * (16 + 16)));
        assertThat((double) large / small).isBetween(1.9, 2.1);
    }

    private static long peakExtraBytes(int n) {
        CpuBackend backend = new CpuBackend(new Parallel(1), Sgemm.best());
        AttentionProblem p = new AttentionProblem(1, 2, n, n, 16, 16, 0.25f, true, null, 0f, 0L);
        int size = 2 * n * 16;
        // q, k, v, out, dOut, dq, dk, dv and the row statistics, closed at the end so that no collection of
        // another test's buffers moves the count during the measurement
        Buffer[] b = new Buffer[9];
        for (int i = 0; i < 8; i++) {
            b[i] = backend.allocate(size);
        }
        b[8] = backend.allocate(2 * 2 * n);
        try {
            backend.memory().resetPeak();
            long before = backend.memory().currentBytes();
            backend.scaledDotProductAttention(p, b[0], b[1], b[2], null, null, b[3], b[8]);
            backend.scaledDotProductAttentionBackward(p, b[0], b[1], b[2], null, null, b[3], b[8], b[4], b[5], b[6],
                    b[7], null);
            return backend.memory().peakBytes() - before;
        } finally {
            for (Buffer x : b) {
                x.close();
            }
        }
    }

    @Test
    void problemRejectsBadSizesAndBiasShapes() {
        assertThatThrownBy(() -> new AttentionProblem(1, 1, -1, 1, 1, 1, 1f, false, null, 0f, 0L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queryLength must be >= 0, got -1");
        assertThatThrownBy(() -> new AttentionProblem(1, 2, 3, 4, 1, 1, 1f, false, new int[] {1, 3, 3, 4}, 0f, 0L))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("biasShape [1, 3, 3, 4] must have four sizes, each 1 or the size of the scores [1, 2, 3, 4]");
        assertThatThrownBy(() -> new AttentionProblem(1, 1, 1, 1, 1, 1, 1f, false, null, 1f, 0L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dropout must be in [0, 1), got 1.0");
        assertThat(new AttentionProblem(2, 3, 4, 5, 1, 1, 1f, false, new int[] {1, 3, 1, 5}, 0f, 0L).biasStrides())
                .containsExactly(0, 5, 0, 1);
    }

    private static void assertClose(String what, float[] actual, double[] expected, double tolerance) {
        assertThat(actual).as(what + ": length").hasSize(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance * (1 + Math.abs(expected[i])))) {
                fail("%s: element %d is %s, float64 reference %s", what, i, actual[i], expected[i]);
            }
        }
    }

    /** Standard normal floats; shared with {@link CpuDecodingAttentionTest}. */
    static float[] randn(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    /** x in float64, null for null; shared with {@link CpuDecodingAttentionTest}. */
    static double[] d(float[] x) {
        if (x == null) {
            return null;
        }
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        return y;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
