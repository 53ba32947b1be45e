package org.xformers4j.compute.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TileGemm} with the incubating Vector API: the products run {@link SimdSgemm}'s 8 × 2-vector
 * micro-kernel, which broadcasts A where it lies and loads B's packed slivers ({@code nr} =
 * {@link SimdSgemm#NR}) as whole vectors; the softmax steps work on whole vectors of a sliver
 * tile's row, with {@link SimdLoops#expNonPositive}.
 *
 * <p>Load this class only when the module {@code jdk.incubator.vector} is present (see
 * {@link TileGemm#best()}).
 */
public final class SimdTileGemm implements TileGemm {

    /** The single instance; the kernel keeps only a per-thread micro-tile. */
    public static final SimdTileGemm INSTANCE = new SimdTileGemm();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final int NR = SimdSgemm.NR;
    private static final FloatVector ZERO = FloatVector.zero(S);
    private static final FloatVector MINUS_INFINITY = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[MR * NR]);
    private static final ThreadLocal<float[]> PARTIAL_SLIVER = ThreadLocal.withInitial(() -> new float[0]);

    private SimdTileGemm() {
    }

    @Override
    public int nr() {
        return NR;
    }

    @Override
    public void multiply(int rows, int cols, int depth, float alpha,
                         float[] a, int aOffset, int aRowStride, int aDepthStride,
                         float[] b, int bOffset, int bSliverStride,
                         float[] c, int cOffset, int cSliverStride, boolean accumulate) {
        float[] acc = TILE.get();
        for (int r0 = 0; r0 < rows; r0 += MR) {
            float[] ar = a;
            int aIdx = aOffset + r0 * aRowStride;
            int aStep = aDepthStride;
            int aRow = aRowStride;
            if (rows - r0 < MR) {
                // the last, partial sliver: its rows and zero rows, [depth, MR]
                ar = partialSliver(a, aIdx, aRowStride, aDepthStride, rows - r0, depth);
                aIdx = 0;
                aStep = MR;
                aRow = 1;
            }
            for (int c0 = 0; c0 < cols; c0 += NR) {
                SimdSgemm.kernel(depth, ar, aIdx, aStep, aRow, b, bOffset + c0 / NR * bSliverStride, acc);
                int cIdx = cOffset + c0 / NR * cSliverStride + r0 * NR;
                for (int t = 0; t < MR * NR; t += VL) {
                    FloatVector x = FloatVector.fromArray(S, acc, t).mul(alpha);
                    if (accumulate) {
                        x = FloatVector.fromArray(S, c, cIdx + t).add(x);
                    }
                    x.intoArray(c, cIdx + t);
                }
            }
        }
    }

    /** Rows [0, rows) of A at {@code offset} packed as one sliver [depth, MR] padded with zero rows, per thread. */
    private static float[] partialSliver(float[] a, int offset, int rowStride, int depthStride, int rows, int depth) {
        float[] sliver = PARTIAL_SLIVER.get();
        if (sliver.length < depth * MR) {
            sliver = new float[depth * MR];
            PARTIAL_SLIVER.set(sliver);
        }
        TileGemm.pack(a, offset, rowStride, depthStride, rows, depth, MR, sliver, 0);
        return sliver;
    }

    @Override
    public void softmaxColumns(float[] s, int rows, int cols, int sliverStride, float[] m, float[] l, float[] alpha) {
        for (int c0 = 0; c0 < cols; c0 += VL) {
            int col = c0 / NR * sliverStride + c0 % NR;
            FloatVector old = FloatVector.fromArray(S, m, c0);
            FloatVector max = old;
            for (int r = 0; r < rows; r++) {
                max = max.max(FloatVector.fromArray(S, s, col + r * NR));
            }
            VectorMask<Float> none = max.compare(VectorOperators.EQ, MINUS_INFINITY);
            FloatVector shift = max.blend(ZERO, none);
            FloatVector sum = FloatVector.zero(S); // not ZERO: a loop-carried vector that starts as a constant is boxed (SimdLoops)
            for (int r = 0; r < rows; r++) {
                FloatVector e = SimdLoops.expNonPositive(FloatVector.fromArray(S, s, col + r * NR).sub(shift));
                e.intoArray(s, col + r * NR);
                sum = sum.add(e);
            }
            FloatVector scale = SimdLoops.expNonPositive(old.sub(shift));
            scale.intoArray(alpha, c0);
            scale.fma(FloatVector.fromArray(S, l, c0), sum).intoArray(l, c0);
            max.intoArray(m, c0);
        }
    }

    @Override
    public void scaleColumns(float[] c, int rows, int cols, int sliverStride, float[] scale) {
        for (int c0 = 0; c0 < cols; c0 += VL) {
            int col = c0 / NR * sliverStride + c0 % NR;
            FloatVector x = FloatVector.fromArray(S, scale, c0);
            for (int r = 0; r < rows; r++) {
                FloatVector.fromArray(S, c, col + r * NR).mul(x).intoArray(c, col + r * NR);
            }
        }
    }

    @Override
    public void expShifted(float[] s, int rows, int cols, int sliverStride, float[] shift, int shiftOffset,
                           float[] factor, int factorOffset, boolean perRow) {
        for (int c0 = 0; c0 < cols; c0 += VL) {
            int col = c0 / NR * sliverStride + c0 % NR;
            FloatVector x = perRow ? ZERO : FloatVector.fromArray(S, shift, shiftOffset + c0);
            FloatVector f = perRow ? ZERO : FloatVector.fromArray(S, factor, factorOffset + c0);
            for (int r = 0; r < rows; r++) {
                FloatVector sh = perRow ? FloatVector.broadcast(S, shift[shiftOffset + r]) : x;
                FloatVector fr = perRow ? FloatVector.broadcast(S, factor[factorOffset + r]) : f;
                SimdLoops.expNonPositive(FloatVector.fromArray(S, s, col + r * NR).sub(sh)).mul(fr).intoArray(s, col + r * NR);
            }
        }
    }

    @Override
    public void scoreGradient(float[] ds, float[] p, int rows, int cols, int sliverStride, float[] delta,
                              int deltaOffset, boolean perRow) {
        for (int c0 = 0; c0 < cols; c0 += VL) {
            int col = c0 / NR * sliverStride + c0 % NR;
            FloatVector x = perRow ? ZERO : FloatVector.fromArray(S, delta, deltaOffset + c0);
            for (int r = 0; r < rows; r++) {
                int at = col + r * NR;
                FloatVector d = perRow ? FloatVector.broadcast(S, delta[deltaOffset + r]) : x;
                FloatVector.fromArray(S, p, at).mul(FloatVector.fromArray(S, ds, at).sub(d)).intoArray(ds, at);
            }
        }
    }
}
