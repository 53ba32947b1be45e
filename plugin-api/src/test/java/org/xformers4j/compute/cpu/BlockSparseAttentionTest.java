package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.xformers4j.compute.cpu.CpuFlashAttentionTest.d;
import static org.xformers4j.compute.cpu.CpuFlashAttentionTest.randn;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;
import org.xformers4j.compute.BlockLayout;

/**
 * The fused kernel with a block layout ({@link BlockSparseTiling} in {@link CpuFlashAttention}):
 * equals float64 attention restricted to the layout's blocks, forward and gradients, for block sizes
 * below, at and above the tile and sliver sizes, lengths that are not a multiple of the block, per-head
 * and shared layouts, with causal order, padding, bias and dropout; its products touch only the
 * non-empty blocks.
 */
class BlockSparseAttentionTest {

    private static final Parallel TWO = new Parallel(2);
    private static final CpuBackend BACKEND = new CpuBackend(TWO, Sgemm.best());

    private static CpuFlashAttention kernel(Parallel parallel, TileGemm gemm) {
        return new CpuFlashAttention(parallel, gemm, ContiguousLoops.best(), BACKEND::allocate);
    }

    /** A random layout: each block kept with probability {@code density}, per head or shared. */
    static BlockLayout randomLayout(long seed, int heads, int length, int blockSize, double density) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = (length + blockSize - 1) / blockSize;
        boolean[][][] blocks = new boolean[heads][n][n];
        for (boolean[][] head : blocks) {
            for (boolean[] row : head) {
                for (int kb = 0; kb < n; kb++) {
                    row[kb] = rng.nextDouble() < density;
                }
            }
        }
        return BlockLayout.of(blockSize, blocks);
    }

    private record Case(String name, AttentionProblem p, boolean padded) {

        static Case of(String name, int batch, int heads, int length, int dim, int blockSize, int layoutHeads,
                       double density) {
            AttentionProblem p = new AttentionProblem(batch, heads, length, length, dim, dim + 1,
                    (float) (1 / Math.sqrt(dim)), false, null, 0f, 7L,
                    randomLayout(length * 31L + blockSize, layoutHeads, length, blockSize, density));
            return new Case(name, p, false);
        }

        Case causal() {
            return new Case(name, new AttentionProblem(p.batch(), p.heads(), p.queryLength(), p.keyLength(),
                    p.headDim(), p.valueDim(), p.scale(), true, p.biasShape(), p.dropout(), p.seed(), p.layout()),
                    padded);
        }

        Case everything() {
            int[] bias = {1, p.heads(), p.queryLength(), p.keyLength()};
            return new Case(name, new AttentionProblem(p.batch(), p.heads(), p.queryLength(), p.keyLength(),
                    p.headDim(), p.valueDim(), p.scale(), true, bias, 0.2f, p.seed(), p.layout()), true);
        }

        float[][] inputs(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            int bh = p.batch() * p.heads();
            float[] mask = null;
            if (padded) {
                mask = new float[p.batch() * p.keyLength()];
                for (int j = 0; j < mask.length; j++) {
                    mask[j] = j % 7 == 3 ? 1f : 0f;
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

    private static final List<Case> CASES = List.of(
            Case.of("block 1, per head", 1, 2, 13, 4, 1, 2, 0.4),
            Case.of("block 2, shared", 2, 2, 9, 4, 2, 1, 0.5),
            Case.of("block 5, ragged last block", 1, 2, 23, 8, 5, 2, 0.5),
            Case.of("block 16", 1, 2, 100, 16, 16, 2, 0.4),
            Case.of("block 32, whole slivers", 2, 1, 160, 8, 32, 1, 0.3),
            Case.of("block 48", 1, 2, 200, 12, 48, 2, 0.5),
            Case.of("block 100, cut into two tiles", 1, 2, 250, 8, 100, 2, 0.6),
            Case.of("block 128", 1, 1, 300, 8, 128, 1, 0.7),
            Case.of("block 16, causal", 1, 2, 100, 8, 16, 2, 0.5).causal(),
            Case.of("block 3, causal", 1, 2, 20, 4, 3, 2, 0.6).causal(),
            Case.of("block 24, causal, bias, dropout, padding", 2, 2, 90, 8, 24, 2, 0.6).everything(),
            Case.of("nothing visible", 1, 1, 40, 4, 8, 1, 0.0));

    @Test
    void forwardAndGradientsMatchTheFloat64Reference() {
        long seed = 11;
        for (Case c : CASES) {
            float[][] in = c.inputs(seed++);
            AttentionProblem p = c.p();
            double[] ref = AttentionReference.forward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]), in[4]);
            AttentionReference.Gradients g = AttentionReference.backward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]),
                    in[4], d(in[5]));
            for (TileGemm gemm : List.of(TileGemm.best(), ScalarTileGemm.INSTANCE)) {
                String name = c.name() + (gemm == ScalarTileGemm.INSTANCE ? " (scalar)" : " (best)");
                float[][] r = run(kernel(TWO, gemm), p, in);
                assertClose(name + ": out", r[0], ref, 2e-5);
                assertClose(name + ": dq", r[1], g.query(), 1e-4);
                assertClose(name + ": dk", r[2], g.key(), 1e-4);
                assertClose(name + ": dv", r[3], g.value(), 1e-4);
                if (p.biasShape() != null) {
                    assertClose(name + ": dBias", r[4], g.bias(), 1e-4);
                }
            }
        }
    }

    @Test
    void aFullLayoutEqualsDenseAttentionBitwise() {
        // one block per tile of the dense kernel: the same tiles, the same sums
        AttentionProblem sparse = new AttentionProblem(2, 2, 128, 128, 16, 16, 0.25f, true, null, 0f, 3L,
                randomLayout(1, 1, 128, 64, 1.0));
        float[][] in = new Case("", sparse, false).inputs(3);
        float[][] expected = run(kernel(TWO, TileGemm.best()), sparse.withLayout(null), in);
        float[][] actual = run(kernel(TWO, TileGemm.best()), sparse, in);
        assertThat(actual[0]).containsExactly(expected[0]);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        Case c = CASES.get(10);
        float[][] in = c.inputs(5);
        float[][] expected = run(kernel(new Parallel(1), TileGemm.best()), c.p(), in);
        for (int threads : new int[] {2, 3}) {
            float[][] actual = run(kernel(new Parallel(threads), TileGemm.best()), c.p(), in);
            for (int t = 0; t < expected.length; t++) {
                assertThat(actual[t]).as("output %d with %d threads", t, threads).containsExactly(expected[t]);
            }
        }
    }

    @Test
    void productsTouchOnlyTheNonEmptyBlocks() {
        // blocks of 64 (a multiple of every sliver width): each visited tile is exactly one run of blocks
        int length = 1024;
        int b = 64;
        int d = 16;
        for (double density : new double[] {0.1, 0.25, 0.5, 1.0}) {
            BlockLayout layout = randomLayout(Double.doubleToLongBits(density), 2, length, b, density);
            AttentionProblem p = new AttentionProblem(1, 2, length, length, d, d, 0.25f, false, null, 0f, 0L, layout);
            float[][] in = new Case("", p, false).inputs(1);
            CountingGemm counting = new CountingGemm(TileGemm.best());
            float[] out = new float[2 * length * d];
            kernel(TWO, counting).forward(p, in[0], in[1], in[2], null, null, out, new float[2 * 2 * length]);
            // forward: S = K Qᵀ and O += V P, each b·b·d multiply-adds per block
            assertThat(counting.multiplyAdds()).as("density %s", density)
                    .isEqualTo((long) layout.nonEmptyBlocks() * b * b * 2 * d);
            counting.reset();
            float[] grad = new float[in[0].length];
            kernel(TWO, counting).backward(p, in[0], in[1], in[2], null, null, out, new float[2 * 2 * length], in[5],
                    grad, new float[in[1].length], new float[in[2].length], null);
            // backward: five products per block (S, dP, dV, dK, dQ)
            assertThat(counting.multiplyAdds()).as("backward, density %s", density)
                    .isEqualTo((long) layout.nonEmptyBlocks() * b * b * 5 * d);
        }
    }

    @Test
    void problemsRejectLayoutsOfTheWrongSize() {
        BlockLayout layout = randomLayout(1, 2, 10, 4, 0.5);
        assertThatThrownBy(() -> new AttentionProblem(1, 2, 13, 13, 4, 4, 1f, false, null, 0f, 0L, layout))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 query blocks");
        assertThatThrownBy(() -> new AttentionProblem(1, 3, 10, 10, 4, 4, 1f, false, null, 0f, 0L, layout))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 or 3 heads");
        assertThatThrownBy(() -> new BlockLayout(2, 1, 2, 2, new int[] {0, 2, 3}, new int[] {1, 0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ascending");
        assertThatThrownBy(() -> new BlockLayout(2, 1, 2, 2, new int[] {0, 1, 3}, new int[] {1, 0, 2}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, 2)");
        assertThatThrownBy(() -> new BlockLayout(2, 1, 2, 2, new int[] {0, 1}, new int[] {1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 row offsets");
        AttentionProblem p = new AttentionProblem(1, 2, 10, 10, 4, 4, 1f, false, null, 0f, 0L, layout);
        float[] x = new float[80];
        assertThatThrownBy(() -> kernel(TWO, TileGemm.best()).backward(p, x, x, x, null, null, x, new float[40], x,
                new float[80], new float[80], new float[80], null, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single pass");
    }

    /** out, dq, dk, dv, dBias. */
    private static float[][] run(CpuFlashAttention kernel, AttentionProblem p, float[][] in) {
        int bh = p.batch() * p.heads();
        float[] out = new float[bh * p.queryLength() * p.valueDim()];
        float[] stats = new float[2 * bh * p.queryLength()];
        kernel.forward(p, in[0], in[1], in[2], in[3], in[4], out, stats);
        float[] dq = new float[in[0].length];
        float[] dk = new float[in[1].length];
        float[] dv = new float[in[2].length];
        float[] dBias = in[3] == null ? null : new float[in[3].length];
        java.util.Arrays.fill(dq, Float.NaN);
        java.util.Arrays.fill(dk, Float.NaN);
        java.util.Arrays.fill(dv, Float.NaN);
        kernel.backward(p, in[0], in[1], in[2], in[3], in[4], out, stats, in[5], dq, dk, dv, dBias);
        return new float[][] {out, dq, dk, dv, dBias};
    }

    private static void assertClose(String what, float[] actual, double[] expected, double tolerance) {
        assertThat(actual).as(what + ": length").hasSize(expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance * (1 + Math.abs(expected[i])))) {
                fail("%s: element %d is %s, float64 reference %s", what, i, actual[i], expected[i]);
            }
        }
    }

    /** A tile kernel that counts the multiply-adds of its products (rows · cols · depth as asked). */
    private static final class CountingGemm implements TileGemm {
        private final TileGemm inner;
        private final java.util.concurrent.atomic.AtomicLong count = new java.util.concurrent.atomic.AtomicLong();

        CountingGemm(TileGemm inner) {
            this.inner = inner;
        }

        long multiplyAdds() {
            return count.get();
        }

        void reset() {
            count.set(0);
        }

        @Override
        public int nr() {
            return inner.nr();
        }

        @Override
        public void multiply(int rows, int cols, int depth, float alpha, float[] a, int aOffset, int aRowStride,
                             int aDepthStride, float[] b, int bOffset, int bSliverStride, float[] c, int cOffset,
                             int cSliverStride, boolean accumulate) {
            count.addAndGet((long) rows * cols * depth);
            inner.multiply(rows, cols, depth, alpha, a, aOffset, aRowStride, aDepthStride, b, bOffset, bSliverStride,
                    c, cOffset, cSliverStride, accumulate);
        }

        @Override
        public void softmaxColumns(float[] s, int rows, int cols, int sliverStride, float[] m, float[] l,
                                   float[] alpha) {
            inner.softmaxColumns(s, rows, cols, sliverStride, m, l, alpha);
        }

        @Override
        public void scaleColumns(float[] c, int rows, int cols, int sliverStride, float[] scale) {
            inner.scaleColumns(c, rows, cols, sliverStride, scale);
        }

        @Override
        public void expShifted(float[] s, int rows, int cols, int sliverStride, float[] shift, int shiftOffset,
                               float[] factor, int factorOffset, boolean perRow) {
            inner.expShifted(s, rows, cols, sliverStride, shift, shiftOffset, factor, factorOffset, perRow);
        }

        @Override
        public void scoreGradient(float[] ds, float[] p, int rows, int cols, int sliverStride, float[] delta,
                                  int deltaOffset, boolean perRow) {
            inner.scoreGradient(ds, p, rows, cols, sliverStride, delta, deltaOffset, perRow);
        }
    }
}
