package org.xformers4j.compute.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SGEMM with the incubating Vector API ({@code jdk.incubator.vector}), Goto/BLIS style.
 *
 * <p>Loop nest, outermost first: {@code jc} over {@code NC}-column blocks of C; {@code pc} over
 * {@code KC}-deep slices of k, for which the {@code KC x NC} block of op(B) is packed once, shared by
 * all threads, into {@code NR}-wide column slivers; then every thread takes a contiguous range of
 * {@code MR}-row slivers of C, packs its rows of op(A) ({@code MC x KC}, {@code MR}-high row
 * slivers, transposes undone in packing) and runs the micro-kernel for each (A sliver, B sliver)
 * pair (whole slivers of an untransposed A, and of a transposed A against a few B slivers, are
 * read in place instead: the micro-kernel broadcasts their elements as cheaply from there as from a
 * packed sliver, and packing them was a tenth of a training step). The micro-kernel keeps an {@code MR x NR} tile of C in {@code MR * NR / VL} vector
 * registers and does one broadcast of A and {@code NR / VL} fused multiply-adds per row and step of
 * k; the finished tile is then folded into C as {@code alpha * acc + beta * C}. Packed panels are
 * zero-padded to whole slivers, so edge tiles run the same kernel and only their fold is partial.
 *
 * <p>Tuned on an AVX-512 Zen 5 (48 KiB L1d, 1 MiB L2 per core): an 8 x 32 tile (16 accumulators)
 * keeps C2 from spilling accumulators, and power-of-two strides let C2 (JDK 17 too) hoist the range
 * checks out of the k loop. The A sliver (8 x 256 floats) stays in L1, the B block (256 x 512) in
 * L2.
 *
 * <p>The summation order of every element of C is fixed by {@code KC} alone (k ascending inside a
 * slice, slices accumulated in order), so results are bitwise identical for any number of threads.
 *
 * <p>Products of at most {@value #SMALL_M} rows (a decoding step's {@code x[1 x K] · Wᵀ}, a few
 * beams) skip packing, which would copy all of B to multiply it by a row or two: {@link SmallMGemm}
 * reads op(B) where it lies, its threads splitting the columns of C.
 *
 * <p>Load this class only when the module {@code jdk.incubator.vector} is present (see
 * {@link Sgemm#best()}).
 */
public final class SimdSgemm implements Sgemm {

    /**
     * A transposed A sliver is read in place against at most this many B slivers, and packed against
     * more. In place, each step of k reads MR floats from a new cache line; packed, the sliver is
     * contiguous. On a Zen 5 core, the weight gradients of a training step (dW = dYᵀ X, 4096 tokens
     * deep) ran at 147 GFLOP/s packed and 180 in place against 128 columns of B, but 163 packed and
     * 140 in place against 512, where the packed sliver is reused by sixteen B slivers.
     */
    static final int TRANSPOSED_IN_PLACE_SLIVERS = 4;

    /** The single instance; the kernel keeps only per-thread scratch buffers. */
    public static final SimdSgemm INSTANCE = new SimdSgemm();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector (16 with AVX-512). */
    private static final int VL = S.length();
    /** Rows of a micro-tile. */
    static final int MR = 8;
    /** Columns of a micro-tile: 2 vectors. */
    static final int NR = 2 * VL;
    /** Depth of a k-slice: an A sliver (MR x KC) stays in L1 while it meets every B sliver. Also
     *  fixes the summation order, so it must not depend on the thread count. */
    static final int KC = 256;
    /** Width of a packed B block (KC x NC), sized to stay in L2. */
    static final int NC = roundUp(512, NR);
    /** Rows of A packed at a time per thread. */
    static final int MC = 96;
    /** Multiply-adds a thread's share must have before the work is split at all. */
    static final long MIN_FMAS_PER_CHUNK = 1L << 16;
    /** Products with at most this many rows of C take {@link SmallMGemm}, without packing. */
    static final int SMALL_M = 8;

    private static final ThreadLocal<float[]> PACK_A = ThreadLocal.withInitial(() -> new float[MC * KC]);
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[MR * NR]);
    private static final ThreadLocal<float[]> PACK_B = ThreadLocal.withInitial(() -> new float[0]);

    private SimdSgemm() {
    }

    private static int roundUp(int x, int multiple) {
        return Math.max(multiple, (x + multiple - 1) / multiple * multiple);
    }

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                     float beta, float[] c, int cOffset, int ldc, Parallel parallel) {
        if (GemmSupport.checkOrFinishTrivial(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb,
                beta, c, cOffset, ldc, parallel)) {
            return;
        }
        if (m <= SMALL_M) {
            SmallMGemm.gemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb,
                    beta, c, cOffset, ldc, parallel);
            return;
        }
        int ncMax = Math.min(NC, roundUp(n, NR));
        int kcMax = Math.min(KC, k);
        float[] bp = PACK_B.get();
        if (bp.length < ncMax * kcMax) {
            bp = new float[ncMax * kcMax];
            PACK_B.set(bp);
        }
        final float[] packedB = bp;
        int mSlivers = (m + MR - 1) / MR;
        for (int jc = 0; jc < n; jc += NC) {
            final int nb = Math.min(NC, n - jc);
            final int nSlivers = (nb + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                final int kb = Math.min(KC, k - pc);
                final int fjc = jc;
                final int fpc = pc;
                final float betaBlock = pc == 0 ? beta : 1f;
                // pack the shared B block, slivers split between threads
                int packGrain = (int) Math.max(1, (1L << 14) / ((long) kb * NR));
                parallel.forRange(nSlivers, packGrain, (from, to) ->
                        packB(transB, b, bOffset, ldb, fpc, kb, fjc, nb, from, to, packedB));
                long fmasPerMSliver = (long) MR * nb * kb;
                if (mSlivers >= 2 * parallel.threads() || mSlivers >= nSlivers) {
                    int grain = (int) Math.max(1, MIN_FMAS_PER_CHUNK / fmasPerMSliver);
                    parallel.forRange(mSlivers, grain, (from, to) ->
                            block(transA, a, aOffset, lda, m, from * MR, Math.min(m, to * MR),
                                    0, nSlivers, fpc, kb, fjc, nb, packedB,
                                    alpha, betaBlock, c, cOffset, ldc));
                } else {
                    // few rows, many columns: split the B slivers instead (each thread packs all of A)
                    long fmasPerNSliver = (long) m * NR * kb;
                    int grain = (int) Math.max(1, MIN_FMAS_PER_CHUNK / fmasPerNSliver);
                    parallel.forRange(nSlivers, grain, (from, to) ->
                            block(transA, a, aOffset, lda, m, 0, m, from, to, fpc, kb, fjc, nb, packedB,
                                    alpha, betaBlock, c, cOffset, ldc));
                }
            }
        }
    }

    /**
     * Rows [i0, i1) of C (i0 a multiple of MR) against B slivers [s0, s1) of the packed block. Whole
     * MR-row slivers of an untransposed A are read where they lie (row stride lda, step 1), which
     * saves packing them, and so are those of a transposed A (step lda, row stride 1) against at most
     * {@value #TRANSPOSED_IN_PLACE_SLIVERS} B slivers; a last partial sliver is packed.
     */
    private static void block(boolean transA, float[] a, int aOffset, int lda, int m, int i0, int i1,
                              int s0, int s1, int pc, int kb, int jc, int nb, float[] bp,
                              float alpha, float beta, float[] c, int cOffset, int ldc) {
        float[] ap = PACK_A.get();
        float[] acc = TILE.get();
        for (int ic = i0; ic < i1; ic += MC) {
            int mb = Math.min(MC, i1 - ic);
            boolean direct = mb % MR == 0 && (!transA || s1 - s0 <= TRANSPOSED_IN_PLACE_SLIVERS);
            if (!direct) {
                packA(transA, a, aOffset, lda, ic, mb, pc, kb, ap);
            }
            for (int ir = 0; ir < mb; ir += MR) {
                int rows = Math.min(MR, mb - ir);
                float[] aSrc = direct ? a : ap;
                int aIdx;
                int aStep;
                int aRow;
                if (!direct) {
                    aIdx = ir * kb;
                    aStep = MR;
                    aRow = 1;
                } else if (transA) {
                    // op(A)(i, p) at a[(pc+p)*lda + ic + i]
                    aIdx = aOffset + pc * lda + ic + ir;
                    aStep = lda;
                    aRow = 1;
                } else {
                    // op(A)(i, p) at a[(ic+i)*lda + pc + p]
                    aIdx = aOffset + (ic + ir) * lda + pc;
                    aStep = 1;
                    aRow = lda;
                }
                int cRow = cOffset + (ic + ir) * ldc + jc;
                for (int s = s0; s < s1; s++) {
                    int jr = s * NR;
                    int cols = Math.min(NR, nb - jr);
                    int bIdx = s * NR * kb;
                    kernel(kb, aSrc, aIdx, aStep, aRow, bp, bIdx, acc);
                    if (rows == MR && cols == NR) {
                        updateFull(acc, alpha, beta, c, cRow + jr, ldc);
                    } else {
                        updatePartial(acc, rows, cols, alpha, beta, c, cRow + jr, ldc);
                    }
                }
            }
        }
    }

    /** C[MR x NR] = alpha * acc + beta * C; beta == 0 overwrites without reading C. */
    private static void updateFull(float[] acc, float alpha, float beta, float[] c, int cIdx, int ldc) {
        for (int r = 0; r < MR; r++) {
            int ci = cIdx + r * ldc;
            int t = r * NR;
            for (int v = 0; v < NR; v += VL) {
                FloatVector x = FloatVector.fromArray(S, acc, t + v).mul(alpha);
                if (beta != 0f) {
                    x = x.add(FloatVector.fromArray(S, c, ci + v).mul(beta));
                }
                x.intoArray(c, ci + v);
            }
        }
    }

    /** The same as {@link #updateFull} for the top-left rows x cols of the tile, with the same
     *  arithmetic (alpha * acc + beta * C, rounded the same way) in scalar code. */
    private static void updatePartial(float[] acc, int rows, int cols, float alpha, float beta,
                                      float[] c, int cIdx, int ldc) {
        for (int r = 0; r < rows; r++) {
            int ci = cIdx + r * ldc;
            int t = r * NR;
            for (int j = 0; j < cols; j++) {
                float x = acc[t + j] * alpha;
                c[ci + j] = beta != 0f ? x + c[ci + j] * beta : x;
            }
        }
    }

    /**
     * Packs op(A)(ic .. ic+mb, pc .. pc+kb) into MR-high slivers: ap[(ir/MR)*MR*kb + p*MR + r];
     * rows past mb are zero.
     */
    private static void packA(boolean transA, float[] a, int aOffset, int lda, int ic, int mb,
                              int pc, int kb, float[] ap) {
        for (int ir = 0; ir < mb; ir += MR) {
            int rows = Math.min(MR, mb - ir);
            int dst = ir * kb;
            if (!transA) {
                // op(A)(i, p) = a[(ic+i)*lda + pc + p]
                for (int r = 0; r < rows; r++) {
                    int src = aOffset + (ic + ir + r) * lda + pc;
                    for (int p = 0; p < kb; p++) {
                        ap[dst + p * MR + r] = a[src + p];
                    }
                }
            } else {
                // op(A)(i, p) = a[(pc+p)*lda + ic + i]: rows of the sliver are contiguous in a
                for (int p = 0; p < kb; p++) {
                    int src = aOffset + (pc + p) * lda + ic + ir;
                    int d = dst + p * MR;
                    for (int r = 0; r < rows; r++) {
                        ap[d + r] = a[src + r];
                    }
                }
            }
            if (rows < MR) {
                for (int p = 0; p < kb; p++) {
                    for (int r = rows; r < MR; r++) {
                        ap[dst + p * MR + r] = 0f;
                    }
                }
            }
        }
    }

    /**
     * Packs slivers [s0, s1) of op(B)(pc .. pc+kb, jc .. jc+nb): bp[s*NR*kb + p*NR + j];
     * columns past nb are zero.
     */
    private static void packB(boolean transB, float[] b, int bOffset, int ldb, int pc, int kb,
                              int jc, int nb, int s0, int s1, float[] bp) {
        for (int s = s0; s < s1; s++) {
            int j0 = s * NR;
            int cols = Math.min(NR, nb - j0);
            int dst = s * NR * kb;
            if (!transB) {
                // op(B)(p, j) = b[(pc+p)*ldb + jc + j]: a sliver row is contiguous
                for (int p = 0; p < kb; p++) {
                    int src = bOffset + (pc + p) * ldb + jc + j0;
                    int d = dst + p * NR;
                    if (cols == NR) {
                        for (int v = 0; v < NR; v += VL) {
                            FloatVector.fromArray(S, b, src + v).intoArray(bp, d + v);
                        }
                    } else {
                        System.arraycopy(b, src, bp, d, cols);
                        java.util.Arrays.fill(bp, d + cols, d + NR, 0f);
                    }
                }
            } else {
                // op(B)(p, j) = b[(jc+j)*ldb + pc + p]
                for (int j = 0; j < cols; j++) {
                    int src = bOffset + (jc + j0 + j) * ldb + pc;
                    for (int p = 0; p < kb; p++) {
                        bp[dst + p * NR + j] = b[src + p];
                    }
                }
                if (cols < NR) {
                    for (int p = 0; p < kb; p++) {
                        java.util.Arrays.fill(bp, dst + p * NR + cols, dst + (p + 1) * NR, 0f);
                    }
                }
            }
        }
    }

    /**
     * The 8 x 2*VL register-blocked micro-kernel: writes the 8 x NR tile
     * acc[r * NR + j] = sum over p of ap[aIdx + p * aStep + r * aRow] * bp[bIdx + p * NR + j], p ascending:
     * A packed in an MR-high sliver (aStep = MR, aRow = 1) or read in place from MR rows of an
     * untransposed A (aStep = 1, aRow = lda).
     * The tile goes to a small per-thread buffer and is folded into C afterwards: writing C (with
     * its bounds checks and beta branches) right after the loop left uncommon traps there that made
     * JDK 17's C2 spill an accumulator inside the loop, at a cost of half the speed.
     */
    static void kernel(int kb, float[] ap, int aIdx, int aStep, int aRow, float[] bp, int bIdx, float[] acc) {
        FloatVector c00 = FloatVector.zero(S); FloatVector c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S); FloatVector c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S); FloatVector c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S); FloatVector c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S); FloatVector c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S); FloatVector c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S); FloatVector c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S); FloatVector c71 = FloatVector.zero(S);
        int r1 = aRow;
        int r2 = 2 * aRow;
        int r3 = 3 * aRow;
        int r4 = 4 * aRow;
        int r5 = 5 * aRow;
        int r6 = 6 * aRow;
        int r7 = 7 * aRow;
        for (int p = 0; p < kb; p++) {
            int ao = aIdx + p * aStep;
            int bo = bIdx + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bo);
            FloatVector b1 = FloatVector.fromArray(S, bp, bo + 1 * VL);
            FloatVector a0 = FloatVector.broadcast(S, ap[ao]);
            c00 = b0.fma(a0, c00);
            c01 = b1.fma(a0, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[ao + r1]);
            c10 = b0.fma(a1, c10);
            c11 = b1.fma(a1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[ao + r2]);
            c20 = b0.fma(a2, c20);
            c21 = b1.fma(a2, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[ao + r3]);
            c30 = b0.fma(a3, c30);
            c31 = b1.fma(a3, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[ao + r4]);
            c40 = b0.fma(a4, c40);
            c41 = b1.fma(a4, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[ao + r5]);
            c50 = b0.fma(a5, c50);
            c51 = b1.fma(a5, c51);
            FloatVector a6 = FloatVector.broadcast(S, ap[ao + r6]);
            c60 = b0.fma(a6, c60);
            c61 = b1.fma(a6, c61);
            FloatVector a7 = FloatVector.broadcast(S, ap[ao + r7]);
            c70 = b0.fma(a7, c70);
            c71 = b1.fma(a7, c71);
        }
        c00.intoArray(acc, 0 * NR); c01.intoArray(acc, 0 * NR + 1 * VL);
        c10.intoArray(acc, 1 * NR); c11.intoArray(acc, 1 * NR + 1 * VL);
        c20.intoArray(acc, 2 * NR); c21.intoArray(acc, 2 * NR + 1 * VL);
        c30.intoArray(acc, 3 * NR); c31.intoArray(acc, 3 * NR + 1 * VL);
        c40.intoArray(acc, 4 * NR); c41.intoArray(acc, 4 * NR + 1 * VL);
        c50.intoArray(acc, 5 * NR); c51.intoArray(acc, 5 * NR + 1 * VL);
        c60.intoArray(acc, 6 * NR); c61.intoArray(acc, 6 * NR + 1 * VL);
        c70.intoArray(acc, 7 * NR); c71.intoArray(acc, 7 * NR + 1 * VL);
    }
}
