package org.xformers4j.compute.cpu;

import java.util.Arrays;
import java.util.function.IntFunction;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.UnaryOp;

/**
 * Fused scaled dot-product attention on the CPU: FlashAttention-2 (Dao, 2023, "FlashAttention-2:
 * Faster Attention with Better Parallelism and Work Partitioning"; Dao et al., 2022,
 * "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"). See
 * {@link org.xformers4j.compute.ComputeBackend#scaledDotProductAttention} for the contract.
 *
 * <p>Each of the batch · heads problems is cut into blocks of {@value #BLOCK_Q} queries and
 * {@value #BLOCK_K} keys; only one block of scores (and in the backward one of score gradients)
 * exists at a time, per thread. The tile products run on {@link TileGemm}, the row loops (max,
 * exp-sum, scaling) on {@link ContiguousLoops}. The scores are S = scale · Q Kᵀ with K read through
 * a transposed copy Kᵀ [D, Lk] per (batch, head), so that both operands of every tile product are
 * walked along contiguous memory; that copy (and Vᵀ in the backward) is the O(N·d) extra memory.
 *
 * <p>Forward, per (batch · head, query block) task, keys in blocks, with the online softmax:
 * <pre>
 *   S = scale · Q_i K_jᵀ + bias, masked -∞          [Br, Bc]
 *   m' = max(m, rowmax S);  P = e^(S - m');  α = e^(m - m')
 *   l = α l + rowsum P;  O = α O + dropout(P) V_j    [Br, Dv]
 *   finally O /= l;  L = m + log l                   (a row with every key masked: O = 0, L = +∞)
 * </pre>
 * Backward, recomputing P = e^(S - L) from the saved log-sum-exp L, with D = rowsum(dO ∘ O):
 * <pre>
 *   dP = Z ∘ (dO_i V_jᵀ) / (1 - p);  dS = P ∘ (dP - D)
 *   pass 1, per (batch · head, key block) task over query blocks:
 *       dV_j += (Z ∘ P / (1 - p))ᵀ dO_i;  dK_j += scale · dSᵀ Q_i
 *   pass 2, per (batch · head, query block) task over key blocks:
 *       dQ_i += scale · dS K_j;  dBias += dS (summed over the bias's broadcast dimensions)
 * </pre>
 * Each output element is written by one task in a fixed order (pass 2 tasks gather every
 * (batch, head, query block) that adds to the same bias gradient elements), so results do not
 * depend on the number of threads. Causal problems skip the blocks that are masked entirely.
 */
final class CpuFlashAttention {

    /** Queries per block (Br). */
    static final int BLOCK_Q = 64;
    /** Keys per block (Bc). */
    static final int BLOCK_K = 128;

    private final Parallel parallel;
    private final TileGemm gemm;
    private final ContiguousLoops loops;
    /** Allocates the transposed copies, so that the backend's memory statistics count them. */
    private final IntFunction<Buffer> allocator;

    CpuFlashAttention(Parallel parallel, TileGemm gemm, ContiguousLoops loops, IntFunction<Buffer> allocator) {
        this.parallel = parallel;
        this.gemm = gemm;
        this.loops = loops;
        this.allocator = allocator;
    }

    void forward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                 float[] out, float[] logSumExp) {
        // q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv], logSumExp [B, H, Lq]
        int bh = p.batch() * p.heads();
        int queryBlocks = blocks(p.queryLength(), BLOCK_Q);
        try (Buffer kT = transpose(k, bh, p.keyLength(), p.headDim())) {
            Tiles t = new Tiles(p, q, k, v, bias, mask, CpuBackend.array(kT), null, logSumExp, null, null);
            parallel.forRange(bh * queryBlocks, 1, (from, to) -> {
                float[] s = new float[BLOCK_Q * BLOCK_K];
                float[] m = new float[BLOCK_Q];
                float[] l = new float[BLOCK_Q];
                for (int task = from; task < to; task++) {
                    t.forwardBlock(task / queryBlocks, task % queryBlocks * BLOCK_Q, s, m, l, out);
                }
            });
        }
    }

    void backward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                  float[] out, float[] logSumExp, float[] dOut, float[] dq, float[] dk, float[] dv, float[] dBias) {
        int bh = p.batch() * p.heads();
        int lq = p.queryLength();
        int dvDim = p.valueDim();
        try (Buffer kT = transpose(k, bh, p.keyLength(), p.headDim());
             Buffer vT = transpose(v, bh, p.keyLength(), dvDim);
             Buffer deltaBuffer = allocator.apply(bh * lq)) {
            // D [B, H, Lq] = rowsum(dO ∘ O)
            float[] delta = CpuBackend.array(deltaBuffer);
            parallel.forRange(bh * lq, Math.max(1, 4096 / Math.max(1, dvDim)), (from, to) -> {
                for (int row = from; row < to; row++) {
                    delta[row] = loops.dot(dOut, out, row * dvDim, dvDim);
                }
            });
            Tiles t = new Tiles(p, q, k, v, bias, mask, CpuBackend.array(kT), CpuBackend.array(vT), logSumExp,
                    dOut, delta);
            int keyBlocks = blocks(p.keyLength(), BLOCK_K);
            parallel.forRange(bh * keyBlocks, 1, (from, to) -> {
                float[] pt = new float[BLOCK_Q * BLOCK_K];
                float[] ds = new float[BLOCK_Q * BLOCK_K];
                for (int task = from; task < to; task++) {
                    t.keyBlockGradients(task / keyBlocks, task % keyBlocks * BLOCK_K, pt, ds, dk, dv);
                }
            });
            queryGradients(t, dq, dBias);
        }
    }

    /**
     * Pass 2: dQ and dBias. A task takes one value of each of batch, head and query block, except
     * along the dimensions the bias broadcasts over when its gradient is wanted: those it loops
     * over itself, so every bias-gradient element is summed by one task in a fixed order.
     */
    private void queryGradients(Tiles t, float[] dq, float[] dBias) {
        AttentionProblem p = t.p;
        int queryBlocks = blocks(p.queryLength(), BLOCK_Q);
        int[] biasShape = p.biasShape();
        boolean allBatch = dBias != null && biasShape[0] == 1;
        boolean allHeads = dBias != null && biasShape[1] == 1;
        boolean allQueries = dBias != null && biasShape[2] == 1;
        if (dBias != null) {
            Arrays.fill(dBias, 0f);
        }
        int nb = allBatch ? 1 : p.batch();
        int nh = allHeads ? 1 : p.heads();
        int nq = allQueries ? 1 : queryBlocks;
        parallel.forRange(nb * nh * nq, 1, (from, to) -> {
            float[] pt = new float[BLOCK_Q * BLOCK_K];
            float[] ds = new float[BLOCK_Q * BLOCK_K];
            for (int task = from; task < to; task++) {
                int tb = task / (nh * nq);
                int th = task / nq % nh;
                int tq = task % nq;
                for (int b = allBatch ? 0 : tb; b < (allBatch ? p.batch() : tb + 1); b++) {
                    for (int h = allHeads ? 0 : th; h < (allHeads ? p.heads() : th + 1); h++) {
                        for (int qb = allQueries ? 0 : tq; qb < (allQueries ? queryBlocks : tq + 1); qb++) {
                            t.queryBlockGradients(b * p.heads() + h, qb * BLOCK_Q, pt, ds, dq, dBias);
                        }
                    }
                }
            }
        });
    }

    /** A scratch copy of x [bh, rows, cols] transposed to [bh, cols, rows]. */
    private Buffer transpose(float[] x, int bh, int rows, int cols) {
        Buffer buffer = allocator.apply(bh * rows * cols);
        float[] xT = CpuBackend.array(buffer);
        int rowBlocks = blocks(rows, BLOCK_K);
        parallel.forRange(bh * rowBlocks, 1, (from, to) -> {
            for (int task = from; task < to; task++) {
                int base = task / rowBlocks * rows * cols;
                int r0 = task % rowBlocks * BLOCK_K;
                int r1 = Math.min(rows, r0 + BLOCK_K);
                for (int c = 0; c < cols; c++) {
                    for (int r = r0; r < r1; r++) {
                        xT[base + c * rows + r] = x[base + r * cols + c];
                    }
                }
            }
        });
        return buffer;
    }

    private static int blocks(int n, int block) {
        return (n + block - 1) / block;
    }

    /** One call's operands and the tile steps shared by the passes. */
    private final class Tiles {
        final AttentionProblem p;
        final int heads;
        final int lq;
        final int lk;
        final int d;
        final int dv;
        /** Key position of query 0 (queries are end-aligned). */
        final int offset;
        final float scale;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] bias;
        final int[] biasStrides;
        final float[] mask;
        final float[] kT;
        final float[] vT;
        final float[] logSumExp;
        final float[] dOut;
        final float[] delta;

        Tiles(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask, float[] kT, float[] vT,
              float[] logSumExp, float[] dOut, float[] delta) {
            this.p = p;
            this.heads = p.heads();
            this.lq = p.queryLength();
            this.lk = p.keyLength();
            this.d = p.headDim();
            this.dv = p.valueDim();
            this.offset = lk - lq;
            this.scale = p.scale();
            this.q = q;
            this.k = k;
            this.v = v;
            this.bias = bias;
            this.biasStrides = bias == null ? null : p.biasStrides();
            this.mask = mask;
            this.kT = kT;
            this.vT = vT;
            this.logSumExp = logSumExp;
            this.dOut = dOut;
            this.delta = delta;
        }

        /** Keys [0, end) are visible to some query of [0, queryEnd): all of them unless causal. */
        int keyEnd(int queryEnd) {
            return p.causal() ? Math.max(0, Math.min(lk, offset + queryEnd)) : lk;
        }

        /** The first query that sees key {@code key}: 0 unless causal. */
        int queryStart(int key) {
            return p.causal() ? Math.min(lq, Math.max(0, key - offset)) : 0;
        }

        /** s[r, c] (row stride BLOCK_K) = scale · q_(i0+r) · k_(j0+c) + bias, -∞ where masked. */
        void scores(float[] s, int bh, int i0, int rows, int j0, int cols) {
            gemm.multiply(rows, cols, d, scale, q, (bh * lq + i0) * d, d, 1, kT, bh * d * lk + j0, lk,
                    s, 0, BLOCK_K, false);
            int b = bh / heads;
            int h = bh % heads;
            if (bias != null) {
                int[] st = biasStrides;
                for (int r = 0; r < rows; r++) {
                    int at = b * st[0] + h * st[1] + (i0 + r) * st[2] + j0 * st[3];
                    loops.binary(BinaryOp.ADD, s, r * BLOCK_K, 1, bias, at, st[3], s, r * BLOCK_K, cols);
                }
            }
            if (mask != null) {
                for (int c = 0; c < cols; c++) {
                    if (mask[b * lk + j0 + c] != 0f) {
                        for (int r = 0; r < rows; r++) {
                            s[r * BLOCK_K + c] = Float.NEGATIVE_INFINITY;
                        }
                    }
                }
            }
            if (p.causal()) {
                for (int r = 0; r < rows; r++) {
                    // query i0 + r sees keys up to offset + i0 + r
                    int firstHidden = Math.max(0, offset + i0 + r + 1 - j0);
                    if (firstHidden < cols) {
                        Arrays.fill(s, r * BLOCK_K + firstHidden, r * BLOCK_K + cols, Float.NEGATIVE_INFINITY);
                    }
                }
            }
        }

        /** Zeroes the dropped weights of s's row r (query i, keys j0 ..) and scales the kept ones by 1/(1-p). */
        void dropout(float[] s, int r, int bh, int i, int j0, int cols) {
            float keep = 1f / (1f - p.dropout());
            int b = bh / heads;
            int h = bh % heads;
            for (int c = 0; c < cols; c++) {
                int at = r * BLOCK_K + c;
                s[at] = p.keeps(b, h, i, j0 + c) ? s[at] * keep : 0f;
            }
        }

        /** Forward of one (batch · head, query block): out rows and their log-sum-exp. */
        void forwardBlock(int bh, int i0, float[] s, float[] m, float[] l, float[] out) {
            int rows = Math.min(BLOCK_Q, lq - i0);
            int oOff = (bh * lq + i0) * dv;
            Arrays.fill(out, oOff, oOff + rows * dv, 0f);
            Arrays.fill(m, Float.NEGATIVE_INFINITY);
            Arrays.fill(l, 0f);
            int keyEnd = keyEnd(i0 + rows);
            for (int j0 = 0; j0 < keyEnd; j0 += BLOCK_K) {
                int cols = Math.min(BLOCK_K, keyEnd - j0);
                scores(s, bh, i0, rows, j0, cols);
                for (int r = 0; r < rows; r++) {
                    int row = r * BLOCK_K;
                    float mNew = Math.max(m[r], loops.max(s, row, cols));
                    if (mNew == Float.NEGATIVE_INFINITY) {
                        // every key so far is masked for this query: no weight yet
                        Arrays.fill(s, row, row + cols, 0f);
                        continue;
                    }
                    float sum = loops.expSum(s, row, cols, mNew, s);
                    float alpha = (float) Math.exp(m[r] - mNew);
                    l[r] = l[r] * alpha + sum;
                    m[r] = mNew;
                    if (alpha != 1f) {
                        int o = oOff + r * dv;
                        loops.unary(UnaryOp.MUL_SCALAR, alpha, out, out, o, o + dv);
                    }
                    if (p.dropout() > 0f) {
                        dropout(s, r, bh, i0 + r, j0, cols);
                    }
                }
                gemm.multiply(rows, dv, cols, 1f, s, 0, BLOCK_K, 1, v, (bh * lk + j0) * dv, dv, out, oOff, dv, true);
            }
            for (int r = 0; r < rows; r++) {
                if (l[r] > 0f) {
                    int o = oOff + r * dv;
                    loops.unary(UnaryOp.MUL_SCALAR, 1f / l[r], out, out, o, o + dv);
                    logSumExp[bh * lq + i0 + r] = m[r] + (float) Math.log(l[r]);
                } else {
                    logSumExp[bh * lq + i0 + r] = Float.POSITIVE_INFINITY;
                }
            }
        }

        /**
         * The weights and score gradients of one tile, recomputed: pt = Z ∘ P / (1 - p) (what
         * multiplied V in the forward) and ds = P ∘ (dP - D), both [rows, cols] with row stride
         * BLOCK_K.
         */
        void weightsAndScoreGradients(int bh, int i0, int rows, int j0, int cols, float[] pt, float[] ds) {
            scores(pt, bh, i0, rows, j0, cols);
            for (int r = 0; r < rows; r++) {
                loops.expSum(pt, r * BLOCK_K, cols, logSumExp[bh * lq + i0 + r], pt);
            }
            // ds = dO_i V_jᵀ, the gradient of the dropped weights
            gemm.multiply(rows, cols, dv, 1f, dOut, (bh * lq + i0) * dv, dv, 1, vT, bh * dv * lk + j0, lk,
                    ds, 0, BLOCK_K, false);
            for (int r = 0; r < rows; r++) {
                int row = r * BLOCK_K;
                int di = bh * lq + i0 + r;
                if (p.dropout() > 0f) {
                    float keep = 1f / (1f - p.dropout());
                    int b = bh / heads;
                    int h = bh % heads;
                    float rowDelta = delta[di];
                    for (int c = 0; c < cols; c++) {
                        int at = row + c;
                        if (p.keeps(b, h, i0 + r, j0 + c)) {
                            ds[at] = pt[at] * (ds[at] * keep - rowDelta);
                            pt[at] *= keep;
                        } else {
                            ds[at] = -pt[at] * rowDelta;
                            pt[at] = 0f;
                        }
                    }
                } else {
                    loops.binary(BinaryOp.SUB, ds, row, 1, delta, di, 0, ds, row, cols);
                    loops.binary(BinaryOp.MUL, ds, row, 1, pt, row, 1, ds, row, cols);
                }
            }
        }

        /** Pass 1 for one (batch · head, key block): dK and dV rows of these keys. */
        void keyBlockGradients(int bh, int j0, float[] pt, float[] ds, float[] dk, float[] dvOut) {
            int cols = Math.min(BLOCK_K, lk - j0);
            int kOff = (bh * lk + j0) * d;
            int vOff = (bh * lk + j0) * dv;
            Arrays.fill(dk, kOff, kOff + cols * d, 0f);
            Arrays.fill(dvOut, vOff, vOff + cols * dv, 0f);
            for (int i0 = queryStart(j0) / BLOCK_Q * BLOCK_Q; i0 < lq; i0 += BLOCK_Q) {
                int rows = Math.min(BLOCK_Q, lq - i0);
                weightsAndScoreGradients(bh, i0, rows, j0, cols, pt, ds);
                // dV_j [cols, Dv] += ptᵀ dO_i;  dK_j [cols, D] += scale · dsᵀ Q_i
                gemm.multiply(cols, dv, rows, 1f, pt, 0, 1, BLOCK_K, dOut, (bh * lq + i0) * dv, dv,
                        dvOut, vOff, dv, true);
                gemm.multiply(cols, d, rows, scale, ds, 0, 1, BLOCK_K, q, (bh * lq + i0) * d, d, dk, kOff, d, true);
            }
        }

        /** Pass 2 for one (batch · head, query block): dQ rows of these queries, and their share of dBias. */
        void queryBlockGradients(int bh, int i0, float[] pt, float[] ds, float[] dq, float[] dBias) {
            int rows = Math.min(BLOCK_Q, lq - i0);
            int qOff = (bh * lq + i0) * d;
            Arrays.fill(dq, qOff, qOff + rows * d, 0f);
            int keyEnd = keyEnd(i0 + rows);
            for (int j0 = 0; j0 < keyEnd; j0 += BLOCK_K) {
                int cols = Math.min(BLOCK_K, keyEnd - j0);
                weightsAndScoreGradients(bh, i0, rows, j0, cols, pt, ds);
                // dQ_i [rows, D] += scale · ds K_j
                gemm.multiply(rows, d, cols, scale, ds, 0, BLOCK_K, 1, k, (bh * lk + j0) * d, d, dq, qOff, d, true);
                if (dBias != null) {
                    addBiasGradient(bh, i0, rows, j0, cols, ds, dBias);
                }
            }
        }

        /** dBias += ds, each score gradient added to the bias element it was broadcast from. */
        private void addBiasGradient(int bh, int i0, int rows, int j0, int cols, float[] ds, float[] dBias) {
            int[] st = biasStrides;
            int base = bh / heads * st[0] + bh % heads * st[1] + j0 * st[3];
            for (int r = 0; r < rows; r++) {
                int at = base + (i0 + r) * st[2];
                if (st[3] == 0) {
                    dBias[at] += loops.sum(ds, r * BLOCK_K, cols);
                } else {
                    loops.binary(BinaryOp.ADD, dBias, at, 1, ds, r * BLOCK_K, 1, dBias, at, cols);
                }
            }
        }
    }
}
