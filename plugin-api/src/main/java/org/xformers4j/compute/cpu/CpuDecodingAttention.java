package org.xformers4j.compute.cpu;

import java.util.Arrays;
import org.xformers4j.compute.AttentionProblem;

/**
 * The forward of scaled dot-product attention for a few queries per head without dropout: a
 * decoding step, where each head attends from one new query (or a few beams' worth) over the
 * cached keys. {@link CpuFlashAttention}'s tiles are sized for blocks of {@value
 * CpuFlashAttention#BLOCK_Q} queries, so for one query they would pack every key and value and
 * run a softmax over a block that is almost all padding; here every (batch · head) is two
 * small-M products and a softmax over one row of scores per query:
 * <pre>
 *   S = scale · Q Kᵀ + bias, -∞ where masked          [Lq, Lk]   (Sgemm, transB)
 *   m = rowmax S;  P = e^(S - m);  l = rowsum P
 *   O = (P V) / l;  save m and 1/l                     [Lq, Dv]   (Sgemm)
 * </pre>
 * with the masking and the saved row statistics of {@link CpuFlashAttention} (a query that sees no
 * key gets O = 0, m = 0 and 1/l = 0), so its backward applies unchanged. Threads split the
 * (batch · head) problems; each is computed whole by one thread, so results do not depend on the
 * number of threads.
 */
final class CpuDecodingAttention {

    /** The most queries per head this kernel takes: {@link SimdSgemm#SMALL_M}, the rows a product takes unpacked. */
    static final int MAX_QUERIES = SimdSgemm.SMALL_M;
    /** Multiply-adds a thread's share of heads must have before the heads are split between threads. */
    private static final long MIN_FMAS_PER_CHUNK = 1L << 14;

    private final Parallel parallel;
    private final Sgemm sgemm;
    private final ContiguousLoops loops;

    CpuDecodingAttention(Parallel parallel, Sgemm sgemm, ContiguousLoops loops) {
        this.parallel = parallel;
        this.sgemm = sgemm;
        this.loops = loops;
    }

    /** Whether this kernel computes {@code p}: at most {@link #MAX_QUERIES} queries, no dropout, no block layout. */
    static boolean handles(AttentionProblem p) {
        return p.queryLength() <= MAX_QUERIES && p.dropout() == 0f && p.layout() == null;
    }

    void forward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                 float[] out, float[] rowStatistics) {
        long fmasPerHead = (long) p.queryLength() * p.keyLength() * (p.headDim() + p.valueDim());
        int grain = (int) Math.max(1, MIN_FMAS_PER_CHUNK / Math.max(1, fmasPerHead));
        int[] biasStrides = p.biasStrides();
        parallel.forRange(p.batch() * p.heads(), grain, (from, to) -> {
            float[] scores = new float[p.queryLength() * p.keyLength()];
            for (int bh = from; bh < to; bh++) {
                head(p, bh, q, k, v, bias, biasStrides, mask, scores, out, rowStatistics);
            }
        });
    }

    /** One (batch · head): scores, softmax rows, weighted values. */
    private void head(AttentionProblem p, int bh, float[] q, float[] k, float[] v, float[] bias, int[] biasStrides,
                      float[] mask, float[] s, float[] out, float[] rowStatistics) {
        int lq = p.queryLength();
        int lk = p.keyLength();
        int d = p.headDim();
        int dv = p.valueDim();
        sgemm.gemm(false, true, lq, lk, d, p.scale(), q, bh * lq * d, d, k, bh * lk * d, d, 0f, s, 0, lk, parallel);
        float[] sumInverse = new float[lq];
        for (int i = 0; i < lq; i++) {
            sumInverse[i] = softmaxRow(p, bh, i, bias, biasStrides, mask, s, rowStatistics);
        }
        int o = bh * lq * dv;
        sgemm.gemm(false, false, lq, dv, lk, 1f, s, 0, lk, v, bh * lk * dv, dv, 0f, out, o, dv, parallel);
        for (int i = 0; i < lq; i++) {
            for (int e = 0; e < dv; e++) {
                out[o + i * dv + e] *= sumInverse[i];
            }
        }
    }

    /**
     * Adds the bias to the scores of query i, hides the keys it does not see, replaces the row by
     * e^(S - m) (zeros when it sees no key), saves m and 1/l, and returns 1/l.
     */
    private float softmaxRow(AttentionProblem p, int bh, int i, float[] bias, int[] st, float[] mask, float[] s,
                             float[] rowStatistics) {
        int lq = p.queryLength();
        int lk = p.keyLength();
        int b = bh / p.heads();
        int row = i * lk;
        if (bias != null) {
            int base = b * st[0] + bh % p.heads() * st[1] + i * st[2];
            for (int j = 0; j < lk; j++) {
                s[row + j] += bias[base + j * st[3]];
            }
        }
        // queries are aligned to the end of the keys: query i sees keys up to lk - lq + i
        int visible = p.causal() ? Math.max(0, Math.min(lk, lk - lq + i + 1)) : lk;
        Arrays.fill(s, row + visible, row + lk, Float.NEGATIVE_INFINITY);
        for (int j = 0; mask != null && j < visible; j++) {
            if (mask[b * lk + j] != 0f) {
                s[row + j] = Float.NEGATIVE_INFINITY;
            }
        }
        float m = loops.max(s, row, lk);
        float l = m == Float.NEGATIVE_INFINITY ? 0f : loops.expSum(s, row, lk, m, s);
        if (l == 0f) {
            Arrays.fill(s, row, row + lk, 0f);
        }
        float inverse = l > 0f ? 1f / l : 0f;
        int statistic = bh * lq + i;
        rowStatistics[statistic] = l > 0f ? m : 0f;
        rowStatistics[p.batch() * p.heads() * lq + statistic] = inverse;
        return inverse;
    }
}
