package org.xformers4j.compute.cpu;

import java.util.Arrays;
import java.util.function.IntFunction;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.Buffer;

/**
 * Fused scaled dot-product attention on the CPU: FlashAttention-2 (Dao, 2023, "FlashAttention-2:
 * Faster Attention with Better Parallelism and Work Partitioning"; Dao et al., 2022,
 * "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"). See
 * {@link org.xformers4j.compute.ComputeBackend#scaledDotProductAttention} for the contract.
 *
 * <p>Each of the batch · heads problems is cut into blocks of {@value #BLOCK_Q} queries and
 * {@value #BLOCK_K} keys; only one block of scores (and in the backward one of score gradients)
 * exists at a time, per thread. Every tile product and softmax step runs on {@link TileGemm}, whose
 * left operand is read where it lies (a block of queries, keys, values or output gradients, or its
 * transpose, is a strided view of the input) and whose right operand is packed: in the layout S
 * keys and values are packed once per backward call (per batch · head, in parallel; this O(N·d)
 * copy, with the backward's per-thread dK and dV of one head, is the extra memory), in the layout
 * Sᵀ queries and output gradients once per block. A tile of scores is the result of one product and the
 * operand of the next, so its layout follows the contraction that consumes it: where the next
 * product sums over keys (P V in the forward, dS K in the backward) the tile is Sᵀ [keys, queries],
 * computed as K Qᵀ, and the softmax runs down its columns; where it sums over queries (Pᵀ dO and
 * dSᵀ Q) the tile is S [queries, keys]; the backward's single pass, whose tiles feed both, computes
 * S and transposes dS. The accumulated outputs are kept transposed (Oᵀ, dQᵀ, dKᵀ, dVᵀ) and
 * written back once per block (the single pass's dKᵀ and dVᵀ once per head).
 *
 * <p>Forward, per (batch · head, query block) task, keys in blocks, with the online softmax:
 * <pre>
 *   Sᵀ = scale · K_j Q_iᵀ + bias, masked -∞          [Bc, Br]
 *   m' = max(m, colmax Sᵀ);  Pᵀ = e^(Sᵀ - m');  α = e^(m - m')
 *   l = α l + colsum Pᵀ;  Oᵀ = α Oᵀ + V_jᵀ dropout(Pᵀ)   [Dv, Br]
 *   finally O /= l;  save m and 1/l                  (a row with every key masked: O = 0, m = 0, 1/l = 0)
 * </pre>
 * Backward, recomputing P = e^(S - m) · (1/l) from the saved row maximum and reciprocal row sum
 * (kept apart: one float log-sum-exp m + ln l loses ln l once |m| is near 1e8), with
 * D = rowsum(dO ∘ O) computed once per call, and the five tile products of FlashAttention-2:
 * <pre>
 *   S = scale · Q_i K_jᵀ + bias, masked -∞;  P = e^(S - m) / l      [Br, Bc]
 *   dP = Z ∘ (dO_i V_jᵀ) / (1 - p);  dS = P ∘ (dP - D)
 *   dV_jᵀ += dO_iᵀ (Z ∘ P / (1 - p))   [Dv, Bc]     dK_jᵀ += scale · Q_iᵀ dS   [D, Bc]
 *   dQ_iᵀ += scale · K_jᵀ dSᵀ          [D, Br]      dBias += dS (summed over the bias's broadcast dimensions)
 * </pre>
 * Single pass (the default), per (batch · head) task, query blocks outer and key blocks inner: the
 * tiles are S [queries, keys], so P and dS are right operands of the dV and dK products as they
 * are; dS is transposed (an O(Br·Bc) copy) to be the right operand of the dQ product. dQ_iᵀ stays
 * in a tile while the keys go by; dKᵀ and dVᵀ of the whole head accumulate in one per-task buffer of
 * (D + Dv) · Lk floats, written back when the head is done. Q_i, dO_i and their transposes are
 * read in place, so a query block packs nothing.
 *
 * <p>Two passes when there are too few (batch · head) tasks to keep every thread busy (see
 * {@link #singlePass}): they recompute S, P and dP, seven tile products in all, but their tasks are
 * blocks: pass 1, per (batch · head, key block), tiles S [Br, Bc], query blocks inner: dV_j, dK_j;
 * pass 2, per (batch · head, query block), tiles Sᵀ [Bc, Br], key blocks inner: dQ_i, dBias.
 *
 * <p>Each output element is written by one task in a fixed order, so results do not depend on the
 * number of threads: where the bias gradient is wanted, a task (of the single pass or of pass 2)
 * takes every batch and every head that add to the same bias-gradient elements. The single pass
 * and the two passes sum every element over the same tiles in the same order, with the same
 * products, so the two schedules give bitwise the same results and the choice between them, which
 * depends on the thread count, does not change them. Causal problems skip the blocks that are
 * masked entirely.
 *
 * <p>Which keys a tile of queries visits is the {@link KeyTiling}'s: every key tile before the
 * causal limit ({@link KeyTiling#DENSE}), or for a problem with a block {@link AttentionProblem#layout()
 * layout} only the key tiles that hold its non-empty blocks ({@link BlockSparseTiling}, whose query
 * tiles follow the layout's blocks); the forward and the single pass are written once for both.
 * A block-sparse backward always takes the single pass, whose tasks are whole heads.
 */
final class CpuFlashAttention {

    /** Queries per block (Br); a multiple of every {@link TileGemm#nr()}. */
    static final int BLOCK_Q = 64;
    /** Keys per block (Bc); a multiple of every {@link TileGemm#nr()}. */
    static final int BLOCK_K = 128;

    private final Parallel parallel;
    private final TileGemm gemm;
    private final ContiguousLoops loops;
    /** Allocates the packed copies, so that the backend's memory statistics count them. */
    private final IntFunction<Buffer> allocator;

    CpuFlashAttention(Parallel parallel, TileGemm gemm, ContiguousLoops loops, IntFunction<Buffer> allocator) {
        this.parallel = parallel;
        this.gemm = gemm;
        this.loops = loops;
        this.allocator = allocator;
    }

    void forward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                 float[] out, float[] rowStatistics) {
        // q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv], rowStatistics [2, B, H, Lq]
        int bh = p.batch() * p.heads();
        int lq = p.queryLength();
        Tiles t = new Tiles(p, true, q, k, v, bias, mask, rowStatistics, null, null, null, null);
        KeyTiling tiling = t.tiling;
        int queryTiles = tiling.queryTiles(lq);
        parallel.forRange(bh * queryTiles, 1, (from, to) -> {
            Scratch s = t.scratch(null);
            for (int task = from; task < to; task++) {
                int tile = task % queryTiles;
                int i0 = tiling.firstQuery(tile, lq);
                int rows = tiling.firstQuery(tile + 1, lq) - i0;
                if (rows > 0) {
                    t.forwardBlock(task / queryTiles, i0, rows, s, out);
                }
            }
        });
    }

    void backward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                  float[] out, float[] rowStatistics, float[] dOut, float[] dq, float[] dk, float[] dv,
                  float[] dBias) {
        boolean single = p.layout() != null || singlePass(taskCount(p, true, dBias != null), parallel.threads());
        backward(p, q, k, v, bias, mask, out, rowStatistics, dOut, dq, dk, dv, dBias, single);
    }

    /**
     * {@link #backward} in one pass or in two, as the caller says: both give bitwise the same results.
     * A problem with a block layout takes the single pass.
     */
    void backward(AttentionProblem p, float[] q, float[] k, float[] v, float[] bias, float[] mask,
                  float[] out, float[] rowStatistics, float[] dOut, float[] dq, float[] dk, float[] dv,
                  float[] dBias, boolean singlePass) {
        int bh = p.batch() * p.heads();
        int lq = p.queryLength();
        int dvDim = p.valueDim();
        if (!singlePass && p.layout() != null) {
            throw new IllegalArgumentException("a block-sparse backward runs in a single pass");
        }
        if (dBias != null) {
            Arrays.fill(dBias, 0f);
        }
        try (Buffer deltaBuffer = allocator.apply(bh * lq)) {
            // D [B, H, Lq] = rowsum(dO ∘ O)
            float[] delta = CpuBackend.array(deltaBuffer);
            parallel.forRange(bh * lq, Math.max(1, 4096 / Math.max(1, dvDim)), (from, to) -> {
                for (int row = from; row < to; row++) {
                    delta[row] = loops.dot(dOut, out, row * dvDim, dvDim);
                }
            });
            try (Buffer keys = packKeys(k, p, p.headDim());
                 Buffer values = packKeys(v, p, dvDim)) {
                Tiles t = new Tiles(p, false, q, k, v, bias, mask, rowStatistics, dOut, delta,
                        CpuBackend.array(keys), CpuBackend.array(values));
                if (singlePass) {
                    forEachTask(t, true, dBias != null, (head, block, s) -> t.headGradients(head, s, dq, dk, dv, dBias));
                    return;
                }
                int keyBlocks = blocks(p.keyLength(), BLOCK_K);
                parallel.forRange(bh * keyBlocks, 1, (from, to) -> {
                    Scratch s = t.scratch(null);
                    for (int task = from; task < to; task++) {
                        t.keyBlockGradients(task / keyBlocks, task % keyBlocks * BLOCK_K, s, dk, dv);
                    }
                });
            }
            Tiles t = new Tiles(p, true, q, k, v, bias, mask, rowStatistics, dOut, delta, null, null);
            forEachTask(t, false, dBias != null,
                    (head, block, s) -> t.queryBlockGradients(head, block * BLOCK_Q, s, dq, dBias));
        }
    }

    /**
     * Whether the single pass is the faster schedule for {@code tasks} (batch · head) tasks on
     * {@code threads} threads: it takes ⌈tasks / threads⌉ rounds of 5 tile products per tile pair,
     * the two passes (whose tasks are small enough to spread evenly) 7 per tile pair spread over
     * every thread.
     */
    static boolean singlePass(int tasks, int threads) {
        long rounds = (tasks + threads - 1) / threads;
        return rounds * 5 * threads <= 7L * tasks;
    }

    /** The backward's work on one (batch · head) and one query block of it (0 for a whole head). */
    @FunctionalInterface
    private interface Work {
        void run(int bh, int queryBlock, Scratch s);
    }

    /**
     * The tasks of the single pass ({@code wholeHeads}) or of pass 2: one value of batch, head and
     * (unless {@code wholeHeads}) query block, except along the dimensions the bias broadcasts over
     * when its gradient is wanted, which a task loops over itself.
     */
    private static int taskCount(AttentionProblem p, boolean wholeHeads, boolean biasGradient) {
        int[] shape = p.biasShape();
        int nb = biasGradient && shape[0] == 1 ? 1 : p.batch();
        int nh = biasGradient && shape[1] == 1 ? 1 : p.heads();
        int nq = wholeHeads || biasGradient && shape[2] == 1 ? 1 : blocks(p.queryLength(), BLOCK_Q);
        return nb * nh * nq;
    }

    /**
     * Runs {@code work} on every (batch · head) and, unless {@code wholeHeads}, every query block
     * of it, in the tasks of {@link #taskCount}: a task runs its units in the order batch, head,
     * query block, so every bias-gradient element is summed by one task in a fixed order. With
     * {@code wholeHeads} each thread's scratch holds a head's dKᵀ and dVᵀ.
     */
    private void forEachTask(Tiles t, boolean wholeHeads, boolean biasGradient, Work work) {
        AttentionProblem p = t.p;
        int[] shape = p.biasShape();
        boolean allBatch = biasGradient && shape[0] == 1;
        boolean allHeads = biasGradient && shape[1] == 1;
        boolean allQueries = wholeHeads || biasGradient && shape[2] == 1;
        int queryBlocks = wholeHeads ? 1 : blocks(p.queryLength(), BLOCK_Q);
        int nh = allHeads ? 1 : p.heads();
        int nq = allQueries ? 1 : queryBlocks;
        parallel.forRange(taskCount(p, wholeHeads, biasGradient), 1, (from, to) -> {
            try (Buffer heads = wholeHeads ? allocator.apply(t.headAccumulatorLength()) : null) {
                Scratch s = t.scratch(heads == null ? null : CpuBackend.array(heads));
                for (int task = from; task < to; task++) {
                    int tb = task / (nh * nq);
                    int th = task / nq % nh;
                    int tq = task % nq;
                    for (int b = allBatch ? 0 : tb; b < (allBatch ? p.batch() : tb + 1); b++) {
                        for (int h = allHeads ? 0 : th; h < (allHeads ? p.heads() : th + 1); h++) {
                            for (int qb = allQueries ? 0 : tq; qb < (allQueries ? queryBlocks : tq + 1); qb++) {
                                work.run(b * p.heads() + h, qb, s);
                            }
                        }
                    }
                }
            }
        });
    }

    /**
     * x [bh, Lk, dim] transposed and packed per (batch · head) as a right operand, in slivers of
     * {@link TileGemm#nr()} keys padded to {@link #paddedKeys}: [bh, paddedKeys / nr, dim, nr].
     */
    private Buffer packKeys(float[] x, AttentionProblem p, int dim) {
        int lk = p.keyLength();
        int stride = paddedKeys(p) * dim;
        Buffer buffer = allocator.apply(p.batch() * p.heads() * stride);
        float[] packed = CpuBackend.array(buffer);
        parallel.forRange(p.batch() * p.heads(), 1, (from, to) -> {
            for (int bh = from; bh < to; bh++) {
                TileGemm.pack(x, bh * lk * dim, dim, 1, lk, dim, gemm.nr(), packed, bh * stride);
            }
        });
        return buffer;
    }

    /** Dense tiles, or those of the problem's block layout. */
    private KeyTiling tiling(AttentionProblem p) {
        return p.layout() == null ? KeyTiling.DENSE : new BlockSparseTiling(p.layout(), gemm.nr());
    }

    /** The key length rounded up to whole slivers of any width. */
    private int paddedKeys(AttentionProblem p) {
        return TileGemm.roundUp(p.keyLength(), gemm.nr());
    }

    private static int blocks(int n, int block) {
        return (n + block - 1) / block;
    }

    /** One thread's tiles: packed query-side operands, scores, score gradients, transposed outputs. */
    private static final class Scratch {
        /** Q_i and dO_i packed as right operands (forward, pass 2): [dim, BLOCK_Q] in slivers. */
        final float[] queries;
        final float[] outGrads;
        /** A tile of scores / weights, one of weight / score gradients, and dSᵀ (single pass). */
        final float[] s;
        final float[] ds;
        final float[] dsT;
        /** The transposed accumulated output: Oᵀ, dQᵀ [dim, BLOCK_Q] or dKᵀ, dVᵀ [dim, BLOCK_K]. */
        final float[] acc;
        final float[] acc2;
        /** Single pass: dKᵀ [D, Lk] then dVᵀ [Dv, Lk] of the whole head, sliver tiles; null otherwise. */
        final float[] keyGrads;
        /** Per query of the block: running max, running sum, rescaling; saved max, reciprocal sum and D. */
        final float[] m = new float[BLOCK_Q];
        final float[] l = new float[BLOCK_Q];
        final float[] alpha = new float[BLOCK_Q];
        final float[] rowMax = new float[BLOCK_Q];
        final float[] rowSumInverse = new float[BLOCK_Q];
        final float[] delta = new float[BLOCK_Q];
        /** The key tiles of the current tile of queries: (first key, keys) pairs ({@link KeyTiling#keyTiles}). */
        final int[] spans;

        Scratch(int d, int dv, float[] keyGrads, int keyTiles) {
            int dim = TileGemm.roundUp(Math.max(d, dv), TileGemm.MR);
            queries = new float[BLOCK_Q * dim];
            outGrads = new float[BLOCK_Q * dim];
            s = new float[BLOCK_Q * BLOCK_K];
            ds = new float[BLOCK_Q * BLOCK_K];
            dsT = keyGrads == null ? null : new float[BLOCK_Q * BLOCK_K];
            acc = new float[BLOCK_K * dim];
            acc2 = new float[BLOCK_K * dim];
            this.keyGrads = keyGrads;
            this.spans = new int[2 * keyTiles];
        }
    }

    /** One pass's operands and the tile steps. */
    private final class Tiles {
        final AttentionProblem p;
        /** The query tiles and the key tiles each visits. */
        final KeyTiling tiling;
        /** Score tiles are Sᵀ [keys, queries] (forward, pass 2) rather than S [queries, keys] (single pass, pass 1). */
        final boolean transposed;
        final int heads;
        final int lq;
        final int lk;
        final int d;
        final int dv;
        final int nr;
        /** Key position of query 0 (queries are end-aligned). */
        final int offset;
        final float scale;
        /** The inputs q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv]: left operands where they lie. */
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] bias;
        final int[] biasStrides;
        final float[] mask;
        /** Row maxima [B, H, Lq], then reciprocal row sums [B, H, Lq] from {@link #sumInverses} on. */
        final float[] rowStatistics;
        final int sumInverses;
        final float[] dOut;
        final float[] delta;
        /** K and V packed by {@link #packKeys} as right operands (layout S); null in layout Sᵀ. */
        final float[] keys;
        final float[] values;

        Tiles(AttentionProblem p, boolean transposed, float[] q, float[] k, float[] v, float[] bias, float[] mask,
              float[] rowStatistics, float[] dOut, float[] delta, float[] keys, float[] values) {
            this.p = p;
            this.tiling = tiling(p);
            this.transposed = transposed;
            this.heads = p.heads();
            this.lq = p.queryLength();
            this.lk = p.keyLength();
            this.d = p.headDim();
            this.dv = p.valueDim();
            this.nr = gemm.nr();
            this.offset = lk - lq;
            this.scale = p.scale();
            this.q = q;
            this.k = k;
            this.v = v;
            this.bias = bias;
            this.biasStrides = bias == null ? null : p.biasStrides();
            this.mask = mask;
            this.rowStatistics = rowStatistics;
            this.sumInverses = p.batch() * p.heads() * lq;
            this.dOut = dOut;
            this.delta = delta;
            this.keys = keys;
            this.values = values;
        }

        Scratch scratch(float[] keyGrads) {
            return new Scratch(d, dv, keyGrads, tiling.maxKeyTiles(lk));
        }

        /** Floats of {@link Scratch#keyGrads}: dKᵀ and dVᵀ of one head. */
        int headAccumulatorLength() {
            return (TileGemm.roundUp(d, TileGemm.MR) + TileGemm.roundUp(dv, TileGemm.MR)) * paddedKeys(p);
        }

        /** Keys [0, end) are visible to some query of [0, queryEnd): all of them unless causal. */
        int keyEnd(int queryEnd) {
            return p.causal() ? Math.max(0, Math.min(lk, offset + queryEnd)) : lk;
        }

        /** The first query that sees key {@code key}: 0 unless causal. */
        int queryStart(int key) {
            return p.causal() ? Math.min(lq, Math.max(0, key - offset)) : 0;
        }

        /**
         * The columns of a backward tile of {@code cols} keys worth computing when its queries see only
         * the first {@code seen}: whole slivers up to them. The keys past them would get nothing but
         * exact zeros (their weights and score gradients are 0), so dropping them changes no bit.
         */
        int visibleSlivers(int cols, int seen) {
            return Math.min(cols, TileGemm.roundUp(seen, nr));
        }

        /** Index of (query r, key c) of the block in a score tile. */
        int at(int r, int c) {
            return transposed ? r / nr * BLOCK_K * nr + c * nr + r % nr : c / nr * BLOCK_Q * nr + r * nr + c % nr;
        }

        /** Distance between the slivers of a score tile. */
        int tileSliverStride() {
            return transposed ? BLOCK_K * nr : BLOCK_Q * nr;
        }

        /** Packs rows i0 .. i0+rows of x [bh, Lq, dim] as a right operand (layout Sᵀ). */
        void packQuerySide(float[] x, int bh, int i0, int rows, int dim, float[] dst) {
            TileGemm.pack(x, (bh * lq + i0) * dim, dim, 1, rows, dim, nr, dst, 0);
        }

        /**
         * tile = alpha · X_i Y_jᵀ in the score layout, for X [bh, Lq, dim] and Y [bh, Lk, dim]: layout
         * Sᵀ reads Y_j in place and takes X_i packed by {@link #packQuerySide} ({@code packedX}), layout
         * S reads X_i in place and takes Y packed by {@link #packKeys} ({@code packedY}).
         */
        void product(int bh, int i0, int rows, int j0, int cols, int dim, float alpha, float[] x, float[] packedX,
                     float[] y, float[] packedY, float[] tile) {
            if (transposed) {
                gemm.multiply(cols, rows, dim, alpha, y, (bh * lk + j0) * dim, dim, 1, packedX, 0, nr * dim,
                        tile, 0, BLOCK_K * nr, false);
            } else {
                gemm.multiply(rows, cols, dim, alpha, x, (bh * lq + i0) * dim, dim, 1,
                        packedY, bh * paddedKeys(p) * dim + j0 * dim, nr * dim, tile, 0, BLOCK_Q * nr, false);
            }
        }

        /**
         * s = scale · Q_i K_jᵀ + bias, -∞ where masked (padding, causal order, the tiling), for queries
         * i0 .. i0+rows and keys j0 .. j0+cols.
         */
        void scores(int bh, int i0, int rows, int j0, int cols, Scratch t) {
            float[] s = t.s;
            product(bh, i0, rows, j0, cols, d, scale, q, t.queries, k, keys, s);
            int b = bh / heads;
            int h = bh % heads;
            if (bias != null) {
                int[] st = biasStrides;
                int base = b * st[0] + h * st[1];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        s[at(r, c)] += bias[base + (i0 + r) * st[2] + (j0 + c) * st[3]];
                    }
                }
            }
            if (mask != null) {
                for (int c = 0; c < cols; c++) {
                    if (mask[b * lk + j0 + c] != 0f) {
                        hide(s, 0, rows, c, c + 1);
                    }
                }
            }
            if (p.causal()) {
                // query i0 + r sees keys up to offset + i0 + r: it hides columns from first + r on, each a
                // run along the slivers (a key's queries in layout Sᵀ, a query's keys in layout S)
                int first = offset + i0 + 1 - j0;
                if (transposed) {
                    for (int c = Math.max(0, first); c < cols; c++) {
                        hide(s, 0, Math.min(rows, c - first + 1), c, c + 1);
                    }
                } else {
                    for (int r = 0; r < rows && first + r < cols; r++) {
                        hide(s, r, r + 1, Math.max(0, first + r), cols);
                    }
                }
            }
            tiling.hide(h, i0, rows, j0, cols, (r0, r1, c0, c1) -> hide(s, r0, r1, c0, c1));
        }

        /**
         * Sets the scores of rows [r0, r1) by columns [c0, c1) of a tile to -∞, a contiguous run per
         * row of a sliver (layout S: a query's keys within a sliver; layout Sᵀ: a key's queries).
         */
        void hide(float[] s, int r0, int r1, int c0, int c1) {
            // in layout Sᵀ the slivers run along the queries (rows), in layout S along the keys (columns)
            int lineFrom = transposed ? c0 : r0;
            int lineTo = transposed ? c1 : r1;
            int runFrom = transposed ? r0 : c0;
            int runTo = transposed ? r1 : c1;
            int sliverStride = tileSliverStride();
            for (int first = runFrom - runFrom % nr; first < runTo; first += nr) {
                int from = Math.max(runFrom, first) - first;
                int to = Math.min(runTo, first + nr) - first;
                int sliver = first / nr * sliverStride;
                for (int line = lineFrom; line < lineTo; line++) {
                    int at = sliver + line * nr;
                    Arrays.fill(s, at + from, at + to, Float.NEGATIVE_INFINITY);
                }
            }
        }

        /** Zeroes the dropped weights of s (queries i0 .., keys j0 ..) and scales the kept ones by 1/(1-p). */
        void dropout(float[] s, int bh, int i0, int rows, int j0, int cols) {
            float keep = 1f / (1f - p.dropout());
            int b = bh / heads;
            int h = bh % heads;
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int at = at(r, c);
                    s[at] = p.keeps(b, h, i0 + r, j0 + c) ? s[at] * keep : 0f;
                }
            }
        }

        /** Forward of one (batch · head, query block): out rows, their score maximum and reciprocal sum. */
        void forwardBlock(int bh, int i0, int rows, Scratch t, float[] out) {
            int dvPad = TileGemm.roundUp(dv, TileGemm.MR);
            packQuerySide(q, bh, i0, rows, d, t.queries);
            Arrays.fill(t.acc, 0, dvPad * BLOCK_Q, 0f);
            Arrays.fill(t.m, Float.NEGATIVE_INFINITY);
            Arrays.fill(t.l, 0f);
            int keyEnd = keyEnd(i0 + rows);
            int keyTiles = tiling.keyTiles(bh % heads, i0, rows, keyEnd, lk, t.spans);
            for (int tile = 0; tile < keyTiles; tile++) {
                int j0 = t.spans[2 * tile];
                int cols = Math.min(t.spans[2 * tile + 1], keyEnd - j0);
                scores(bh, i0, rows, j0, cols, t);
                gemm.softmaxColumns(t.s, cols, rows, BLOCK_K * nr, t.m, t.l, t.alpha);
                if (p.dropout() > 0f) {
                    dropout(t.s, bh, i0, rows, j0, cols);
                }
                // Oᵀ [Dv, Br] = α Oᵀ + V_jᵀ Pᵀ
                gemm.scaleColumns(t.acc, dv, rows, dvPad * nr, t.alpha);
                gemm.multiply(dv, rows, cols, 1f, v, (bh * lk + j0) * dv, 1, dv,
                        t.s, 0, BLOCK_K * nr, t.acc, 0, dvPad * nr, true);
            }
            for (int r = 0; r < rows; r++) {
                float l = t.l[r];
                int o = (bh * lq + i0 + r) * dv;
                int a = r / nr * dvPad * nr + r % nr;
                float inv = l > 0f ? 1f / l : 0f;
                for (int e = 0; e < dv; e++) {
                    out[o + e] = t.acc[a + e * nr] * inv;
                }
                rowStatistics[bh * lq + i0 + r] = l > 0f ? t.m[r] : 0f;
                rowStatistics[sumInverses + bh * lq + i0 + r] = inv;
            }
        }

        /**
         * The weights and score gradients of one tile, recomputed from the packed Q_i and dO_i:
         * t.s = Z ∘ P / (1 - p) (what multiplied V in the forward) and t.ds = P ∘ (dP - D).
         */
        void weightsAndScoreGradients(int bh, int i0, int rows, int j0, int cols, Scratch t) {
            scores(bh, i0, rows, j0, cols, t);
            int stride = tileSliverStride();
            // P = e^(S - m) / l;  ds = dO_i V_jᵀ, the gradient of the dropped weights
            if (transposed) {
                gemm.expShifted(t.s, cols, rows, stride, t.rowMax, 0, t.rowSumInverse, 0, false);
            } else {
                gemm.expShifted(t.s, rows, cols, stride, rowStatistics, bh * lq + i0, rowStatistics,
                        sumInverses + bh * lq + i0, true);
            }
            product(bh, i0, rows, j0, cols, dv, 1f, dOut, t.outGrads, v, values, t.ds);
            if (p.dropout() > 0f) {
                float keep = 1f / (1f - p.dropout());
                int b = bh / heads;
                int h = bh % heads;
                for (int r = 0; r < rows; r++) {
                    float rowDelta = delta[bh * lq + i0 + r];
                    for (int c = 0; c < cols; c++) {
                        int at = at(r, c);
                        if (p.keeps(b, h, i0 + r, j0 + c)) {
                            t.ds[at] = t.s[at] * (t.ds[at] * keep - rowDelta);
                            t.s[at] *= keep;
                        } else {
                            t.ds[at] = -t.s[at] * rowDelta;
                            t.s[at] = 0f;
                        }
                    }
                }
            } else if (transposed) {
                gemm.scoreGradient(t.ds, t.s, cols, rows, stride, t.delta, 0, false);
            } else {
                gemm.scoreGradient(t.ds, t.s, rows, cols, stride, delta, bh * lq + i0, true);
            }
        }

        /** The single pass for one (batch · head): its dQ, dK and dV rows, and its share of dBias. */
        void headGradients(int bh, Scratch t, float[] dq, float[] dk, float[] dvOut, float[] dBias) {
            int dPad = TileGemm.roundUp(d, TileGemm.MR);
            int dvPad = TileGemm.roundUp(dv, TileGemm.MR);
            int valueGrads = dPad * paddedKeys(p);
            Arrays.fill(t.keyGrads, 0f);
            for (int tile = 0, tiles = tiling.queryTiles(lq); tile < tiles; tile++) {
                int i0 = tiling.firstQuery(tile, lq);
                int rows = tiling.firstQuery(tile + 1, lq) - i0;
                if (rows == 0) {
                    continue;
                }
                Arrays.fill(t.acc, 0, dPad * BLOCK_Q, 0f);
                int keyEnd = keyEnd(i0 + rows);
                int keyTiles = tiling.keyTiles(bh % heads, i0, rows, keyEnd, lk, t.spans);
                for (int k = 0; k < keyTiles; k++) {
                    // dK and dV over the slivers of keys these queries see, as pass 1; dQ and dBias over those keys, as pass 2
                    int j0 = t.spans[2 * k];
                    int seen = Math.min(t.spans[2 * k + 1], keyEnd - j0);
                    int cols = visibleSlivers(t.spans[2 * k + 1], seen);
                    weightsAndScoreGradients(bh, i0, rows, j0, cols, t);
                    addKeyGradients(bh, i0, rows, cols, t, t.keyGrads, j0 / nr * dPad * nr,
                            t.keyGrads, valueGrads + j0 / nr * dvPad * nr);
                    transposeScoreGradients(rows, seen, t);
                    addQueryGradients(bh, rows, j0, seen, t.dsT, t);
                    if (dBias != null) {
                        addBiasGradient(bh, i0, rows, j0, seen, t.ds, dBias);
                    }
                }
                unpack(t.acc, 0, dPad, d, rows, dq, (bh * lq + i0) * d);
            }
            unpack(t.keyGrads, 0, dPad, d, lk, dk, bh * lk * d);
            unpack(t.keyGrads, valueGrads, dvPad, dv, lk, dvOut, bh * lk * dv);
        }

        /** Pass 1 for one (batch · head, key block): dK and dV rows of these keys. */
        void keyBlockGradients(int bh, int j0, Scratch t, float[] dk, float[] dvOut) {
            int cols = Math.min(BLOCK_K, lk - j0);
            int dPad = TileGemm.roundUp(d, TileGemm.MR);
            int dvPad = TileGemm.roundUp(dv, TileGemm.MR);
            Arrays.fill(t.acc, 0, dPad * BLOCK_K, 0f);
            Arrays.fill(t.acc2, 0, dvPad * BLOCK_K, 0f);
            for (int i0 = queryStart(j0) / BLOCK_Q * BLOCK_Q; i0 < lq; i0 += BLOCK_Q) {
                int rows = Math.min(BLOCK_Q, lq - i0);
                int visible = visibleSlivers(cols, keyEnd(i0 + rows) - j0);
                weightsAndScoreGradients(bh, i0, rows, j0, visible, t);
                addKeyGradients(bh, i0, rows, visible, t, t.acc, 0, t.acc2, 0);
            }
            unpack(t.acc, 0, dPad, d, cols, dk, (bh * lk + j0) * d);
            unpack(t.acc2, 0, dvPad, dv, cols, dvOut, (bh * lk + j0) * dv);
        }

        /** Pass 2 for one (batch · head, query block): dQ rows of these queries, and their share of dBias. */
        void queryBlockGradients(int bh, int i0, Scratch t, float[] dq, float[] dBias) {
            int rows = Math.min(BLOCK_Q, lq - i0);
            int dPad = TileGemm.roundUp(d, TileGemm.MR);
            packQuerySide(q, bh, i0, rows, d, t.queries);
            packQuerySide(dOut, bh, i0, rows, dv, t.outGrads);
            Arrays.fill(t.rowMax, 0f);
            Arrays.fill(t.rowSumInverse, 0f);
            Arrays.fill(t.delta, 0f);
            System.arraycopy(rowStatistics, bh * lq + i0, t.rowMax, 0, rows);
            System.arraycopy(rowStatistics, sumInverses + bh * lq + i0, t.rowSumInverse, 0, rows);
            System.arraycopy(delta, bh * lq + i0, t.delta, 0, rows);
            Arrays.fill(t.acc, 0, dPad * BLOCK_Q, 0f);
            int keyEnd = keyEnd(i0 + rows);
            for (int j0 = 0; j0 < keyEnd; j0 += BLOCK_K) {
                int cols = Math.min(BLOCK_K, keyEnd - j0);
                weightsAndScoreGradients(bh, i0, rows, j0, cols, t);
                addQueryGradients(bh, rows, j0, cols, t.ds, t);
                if (dBias != null) {
                    addBiasGradient(bh, i0, rows, j0, cols, t.ds, dBias);
                }
            }
            unpack(t.acc, 0, dPad, d, rows, dq, (bh * lq + i0) * d);
        }

        /**
         * From the tiles S [Br, Bc] t.s and t.ds of queries i0 ..: dK_jᵀ [D, Bc] += scale · Q_iᵀ dS at
         * keyAt of keyAcc and dV_jᵀ [Dv, Bc] += dO_iᵀ (Z ∘ P / (1 - p)) at valueAt of valueAcc (sliver
         * tiles), Q_iᵀ and dO_iᵀ read in place.
         */
        private void addKeyGradients(int bh, int i0, int rows, int cols, Scratch t, float[] keyAcc, int keyAt,
                                     float[] valueAcc, int valueAt) {
            gemm.multiply(dv, cols, rows, 1f, dOut, (bh * lq + i0) * dv, 1, dv, t.s, 0, BLOCK_Q * nr,
                    valueAcc, valueAt, TileGemm.roundUp(dv, TileGemm.MR) * nr, true);
            gemm.multiply(d, cols, rows, scale, q, (bh * lq + i0) * d, 1, d, t.ds, 0, BLOCK_Q * nr,
                    keyAcc, keyAt, TileGemm.roundUp(d, TileGemm.MR) * nr, true);
        }

        /** dQ_iᵀ [D, Br] += scale · K_jᵀ dSᵀ into t.acc, for dSᵀ a tile [Bc, Br] in the layout Sᵀ; K_jᵀ read in place. */
        private void addQueryGradients(int bh, int rows, int j0, int cols, float[] dsT, Scratch t) {
            int dPad = TileGemm.roundUp(d, TileGemm.MR);
            gemm.multiply(d, rows, cols, scale, k, (bh * lk + j0) * d, 1, d,
                    dsT, 0, BLOCK_K * nr, t.acc, 0, dPad * nr, true);
        }

        /** t.dsT = the first cols keys of the tile t.ds [rows, cols] in the layout S, as a tile [cols, rows] in the layout Sᵀ. */
        private void transposeScoreGradients(int rows, int cols, Scratch t) {
            for (int c0 = 0; c0 < cols; c0 += nr) {
                int n = Math.min(nr, cols - c0);
                for (int r = 0; r < rows; r++) {
                    int from = c0 * BLOCK_Q + r * nr;
                    int to = r / nr * BLOCK_K * nr + c0 * nr + r % nr;
                    for (int c = 0; c < n; c++) {
                        t.dsT[to + c * nr] = t.ds[from + c];
                    }
                }
            }
        }

        /** x [n, dim] at xOffset = the transposed sliver tile accT [dim, n] at accOffset (slivers dimPad · nr apart). */
        private void unpack(float[] accT, int accOffset, int dimPad, int dim, int n, float[] x, int xOffset) {
            for (int i = 0; i < n; i++) {
                int a = accOffset + i / nr * dimPad * nr + i % nr;
                for (int e = 0; e < dim; e++) {
                    x[xOffset + i * dim + e] = accT[a + e * nr];
                }
            }
        }

        /** dBias += ds, each score gradient added to the bias element it was broadcast from. */
        private void addBiasGradient(int bh, int i0, int rows, int j0, int cols, float[] ds, float[] dBias) {
            int[] st = biasStrides;
            int base = bh / heads * st[0] + bh % heads * st[1] + j0 * st[3];
            for (int r = 0; r < rows; r++) {
                int row = base + (i0 + r) * st[2];
                for (int c = 0; c < cols; c++) {
                    dBias[row + c * st[3]] += ds[at(r, c)];
                }
            }
        }
    }
}
