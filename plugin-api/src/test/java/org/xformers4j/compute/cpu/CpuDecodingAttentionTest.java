package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;
import static org.xformers4j.compute.cpu.CpuFlashAttentionTest.d;
import static org.xformers4j.compute.cpu.CpuFlashAttentionTest.randn;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.AttentionReference;

class CpuDecodingAttentionTest {

    private static final Parallel ONE = new Parallel(1);
    private static final Parallel THREE = new Parallel(3);
    private static final CpuBackend BACKEND = new CpuBackend(THREE, Sgemm.best());

    /** A decoding problem, its inputs and whether the last batch row has every key padded. */
    private record Case(String name, AttentionProblem p, boolean padding, float biasValue) {

        static Case of(String name, int batch, int heads, int lq, int lk, int d, int dv, boolean causal,
                       int[] biasShape, boolean padding) {
            return new Case(name, new AttentionProblem(batch, heads, lq, lk, d, dv, (float) (1 / Math.sqrt(d)), causal,
                    biasShape, 0f, 0L), padding, Float.NaN);
        }

        /** The same case with every bias element {@code value} instead of random. */
        Case constantBias(float value) {
            return new Case(name, p, padding, value);
        }

        float[][] inputs(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            int bh = p.batch() * p.heads();
            float[] mask = null;
            if (padding) {
                mask = new float[p.batch() * p.keyLength()];
                for (int b = 0; b < p.batch(); b++) {
                    for (int j = 0; j < p.keyLength(); j++) {
                        mask[b * p.keyLength() + j] = b == p.batch() - 1 || (j * 7 + b * 3) % 5 == 1 ? 1f : 0f;
                    }
                }
            }
            int[] bs = p.biasShape();
            float[] bias = bs == null ? null : randn(rng, bs[0] * bs[1] * bs[2] * bs[3]);
            if (bias != null && !Float.isNaN(biasValue)) {
                Arrays.fill(bias, biasValue);
            }
            return new float[][] {randn(rng, bh * p.queryLength() * p.headDim()),
                randn(rng, bh * p.keyLength() * p.headDim()), randn(rng, bh * p.keyLength() * p.valueDim()), bias, mask};
        }
    }

    private static final List<Case> CASES = List.of(
            Case.of("one query, one key", 1, 1, 1, 1, 1, 1, false, null, false),
            Case.of("one query of a decoding step", 2, 4, 1, 289, 32, 32, true, null, false),
            Case.of("beams: a few queries, causal", 1, 2, 5, 40, 8, 12, true, null, false),
            Case.of("Lq > Lk, causal: the first queries see nothing", 1, 1, 8, 3, 4, 4, true, null, false),
            Case.of("padding, last batch row all padded", 2, 2, 3, 37, 5, 7, false, null, true),
            Case.of("bias [B, H, Lq, Lk]", 2, 2, 4, 19, 8, 3, true, new int[] {2, 2, 4, 19}, false),
            Case.of("bias [1, 1, 1, Lk] and padding", 2, 3, 2, 33, 16, 16, false, new int[] {1, 1, 1, 33}, true),
            Case.of("huge negative bias", 1, 2, 2, 21, 4, 4, false, new int[] {1, 2, 1, 1}, false)
                    .constantBias(-1e30f));

    @Test
    void takesFewQueriesWithoutDropoutOnly() {
        assertThat(CpuDecodingAttention.handles(new AttentionProblem(1, 1, 8, 9, 4, 4, 1f, true, null, 0f, 0L)))
                .isTrue();
        assertThat(CpuDecodingAttention.handles(new AttentionProblem(1, 1, 9, 9, 4, 4, 1f, true, null, 0f, 0L)))
                .isFalse();
        assertThat(CpuDecodingAttention.handles(new AttentionProblem(1, 1, 1, 9, 4, 4, 1f, true, null, 0.1f, 0L)))
                .isFalse();
    }

    @Test
    void forwardMatchesTheFloat64ReferenceAndTheFlashStatistics() {
        long seed = 1;
        for (Case c : CASES) {
            AttentionProblem p = c.p();
            float[][] in = c.inputs(seed++);
            double[] reference = AttentionReference.forward(p, d(in[0]), d(in[1]), d(in[2]), d(in[3]), in[4]);
            CpuFlashAttention flash = new CpuFlashAttention(THREE, TileGemm.best(), ContiguousLoops.best(),
                    BACKEND::allocate);
            float[] flashStatistics = new float[2 * p.batch() * p.heads() * p.queryLength()];
            flash.forward(p, in[0], in[1], in[2], in[3], in[4], new float[reference.length], flashStatistics);
            for (CpuDecodingAttention kernel : List.of(
                    new CpuDecodingAttention(THREE, Sgemm.best(), ContiguousLoops.best()),
                    new CpuDecodingAttention(THREE, ScalarSgemm.INSTANCE, ScalarLoops.INSTANCE))) {
                float[][] r = run(kernel, p, in);
                for (int i = 0; i < reference.length; i++) {
                    assertThat((double) r[0][i]).as("%s: out[%d]", c.name(), i)
                            .isCloseTo(reference[i], offset(2e-5 + 2e-5 * Math.abs(reference[i])));
                }
                for (int i = 0; i < flashStatistics.length; i++) {
                    assertThat(r[1][i]).as("%s: row statistic %d", c.name(), i)
                            .isCloseTo(flashStatistics[i], offset(
                                    1e-5f * Math.max(1f, Math.abs(flashStatistics[i]))));
                }
            }
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        for (Case c : CASES) {
            float[][] in = c.inputs(7);
            float[][] one = run(new CpuDecodingAttention(ONE, Sgemm.best(), ContiguousLoops.best()), c.p(), in);
            float[][] three = run(new CpuDecodingAttention(THREE, Sgemm.best(), ContiguousLoops.best()), c.p(), in);
            assertThat(three[0]).as(c.name()).isEqualTo(one[0]);
            assertThat(three[1]).as(c.name()).isEqualTo(one[1]);
        }
    }

    @Test
    void theBackendTakesThisKernelForADecodingStep() {
        Case c = CASES.get(1);
        AttentionProblem p = c.p();
        float[][] in = c.inputs(3);
        var out = BACKEND.allocate(p.batch() * p.heads() * p.queryLength() * p.valueDim());
        BACKEND.scaledDotProductAttention(p, BACKEND.upload(in[0]), BACKEND.upload(in[1]), BACKEND.upload(in[2]),
                null, null, out, BACKEND.allocate(2 * p.batch() * p.heads() * p.queryLength()));
        float[][] direct = run(new CpuDecodingAttention(THREE, Sgemm.best(), ContiguousLoops.best()), p, in);
        assertThat(CpuBackend.array(out)).isEqualTo(direct[0]);
    }

    /** Outputs: out (NaN-filled before, so an element left unwritten fails), row statistics. */
    private static float[][] run(CpuDecodingAttention kernel, AttentionProblem p, float[][] in) {
        int bh = p.batch() * p.heads();
        float[] out = new float[bh * p.queryLength() * p.valueDim()];
        float[] statistics = new float[2 * bh * p.queryLength()];
        Arrays.fill(out, Float.NaN);
        Arrays.fill(statistics, Float.NaN);
        kernel.forward(p, in[0], in[1], in[2], in[3], in[4], out, statistics);
        return new float[][] {out, statistics};
    }
}
