package org.xformers4j.compute.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TileGemm} with the incubating Vector API. The main micro-kernel keeps a 4-row,
 * 4-vector tile of C (64 columns with AVX-512) in 16 registers; each step of p broadcasts four
 * elements of A and loads four vectors of B for 16 fused multiply-adds. Rows and columns past the
 * last whole tile go through a 4 x 1-vector kernel, a 1 x 1-vector kernel and, for fewer columns
 * than a vector, {@link ScalarTileGemm}.
 *
 * <p>Load this class only when the module {@code jdk.incubator.vector} is present (see
 * {@link TileGemm#best()}).
 */
public final class SimdTileGemm implements TileGemm {

    /** The single instance; the kernel is stateless. */
    public static final SimdTileGemm INSTANCE = new SimdTileGemm();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final int MR = 4;
    private static final int NR = 4 * VL;

    private SimdTileGemm() {
    }

    @Override
    public void multiply(int rows, int cols, int depth, float alpha,
                         float[] a, int aOffset, int aRowStride, int aDepthStride,
                         float[] b, int bOffset, int ldb,
                         float[] c, int cOffset, int ldc, boolean accumulate) {
        int r = 0;
        for (; r + MR <= rows; r += MR) {
            int aRow = aOffset + r * aRowStride;
            int cRow = cOffset + r * ldc;
            int j = 0;
            for (; j + NR <= cols; j += NR) {
                kernel4x4(depth, alpha, a, aRow, aRowStride, aDepthStride, b, bOffset + j, ldb, c, cRow + j, ldc,
                        accumulate);
            }
            for (; j + VL <= cols; j += VL) {
                kernel4x1(depth, alpha, a, aRow, aRowStride, aDepthStride, b, bOffset + j, ldb, c, cRow + j, ldc,
                        accumulate);
            }
            if (j < cols) {
                ScalarTileGemm.INSTANCE.multiply(MR, cols - j, depth, alpha, a, aRow, aRowStride, aDepthStride,
                        b, bOffset + j, ldb, c, cRow + j, ldc, accumulate);
            }
        }
        for (; r < rows; r++) {
            int aRow = aOffset + r * aRowStride;
            int cRow = cOffset + r * ldc;
            int j = 0;
            for (; j + VL <= cols; j += VL) {
                kernel1x1(depth, alpha, a, aRow, aDepthStride, b, bOffset + j, ldb, c, cRow + j, accumulate);
            }
            if (j < cols) {
                ScalarTileGemm.INSTANCE.multiply(1, cols - j, depth, alpha, a, aRow, aRowStride, aDepthStride,
                        b, bOffset + j, ldb, c, cRow + j, ldc, accumulate);
            }
        }
    }

    /** C[4 x 4 vectors] (+)= alpha · A[4 x depth] B[depth x 4 vectors]. */
    private static void kernel4x4(int depth, float alpha, float[] a, int aRow, int aRs, int aDs,
                                  float[] b, int bIdx, int ldb, float[] c, int cIdx, int ldc, boolean accumulate) {
        FloatVector c00 = FloatVector.zero(S); FloatVector c01 = FloatVector.zero(S);
        FloatVector c02 = FloatVector.zero(S); FloatVector c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S); FloatVector c11 = FloatVector.zero(S);
        FloatVector c12 = FloatVector.zero(S); FloatVector c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S); FloatVector c21 = FloatVector.zero(S);
        FloatVector c22 = FloatVector.zero(S); FloatVector c23 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S); FloatVector c31 = FloatVector.zero(S);
        FloatVector c32 = FloatVector.zero(S); FloatVector c33 = FloatVector.zero(S);
        int a0 = aRow;
        int a1 = aRow + aRs;
        int a2 = aRow + 2 * aRs;
        int a3 = aRow + 3 * aRs;
        for (int p = 0; p < depth; p++) {
            int bo = bIdx + p * ldb;
            int ao = p * aDs;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + VL);
            FloatVector b2 = FloatVector.fromArray(S, b, bo + 2 * VL);
            FloatVector b3 = FloatVector.fromArray(S, b, bo + 3 * VL);
            FloatVector x = FloatVector.broadcast(S, a[a0 + ao]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02); c03 = b3.fma(x, c03);
            x = FloatVector.broadcast(S, a[a1 + ao]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12); c13 = b3.fma(x, c13);
            x = FloatVector.broadcast(S, a[a2 + ao]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22); c23 = b3.fma(x, c23);
            x = FloatVector.broadcast(S, a[a3 + ao]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32); c33 = b3.fma(x, c33);
        }
        store(c00, alpha, c, cIdx, accumulate); store(c01, alpha, c, cIdx + VL, accumulate);
        store(c02, alpha, c, cIdx + 2 * VL, accumulate); store(c03, alpha, c, cIdx + 3 * VL, accumulate);
        cIdx += ldc;
        store(c10, alpha, c, cIdx, accumulate); store(c11, alpha, c, cIdx + VL, accumulate);
        store(c12, alpha, c, cIdx + 2 * VL, accumulate); store(c13, alpha, c, cIdx + 3 * VL, accumulate);
        cIdx += ldc;
        store(c20, alpha, c, cIdx, accumulate); store(c21, alpha, c, cIdx + VL, accumulate);
        store(c22, alpha, c, cIdx + 2 * VL, accumulate); store(c23, alpha, c, cIdx + 3 * VL, accumulate);
        cIdx += ldc;
        store(c30, alpha, c, cIdx, accumulate); store(c31, alpha, c, cIdx + VL, accumulate);
        store(c32, alpha, c, cIdx + 2 * VL, accumulate); store(c33, alpha, c, cIdx + 3 * VL, accumulate);
    }

    /** C[4 x 1 vector] (+)= alpha · A[4 x depth] B[depth x 1 vector]. */
    private static void kernel4x1(int depth, float alpha, float[] a, int aRow, int aRs, int aDs,
                                  float[] b, int bIdx, int ldb, float[] c, int cIdx, int ldc, boolean accumulate) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        for (int p = 0; p < depth; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bIdx + p * ldb);
            int ao = aRow + p * aDs;
            c0 = bv.fma(FloatVector.broadcast(S, a[ao]), c0);
            c1 = bv.fma(FloatVector.broadcast(S, a[ao + aRs]), c1);
            c2 = bv.fma(FloatVector.broadcast(S, a[ao + 2 * aRs]), c2);
            c3 = bv.fma(FloatVector.broadcast(S, a[ao + 3 * aRs]), c3);
        }
        store(c0, alpha, c, cIdx, accumulate);
        store(c1, alpha, c, cIdx + ldc, accumulate);
        store(c2, alpha, c, cIdx + 2 * ldc, accumulate);
        store(c3, alpha, c, cIdx + 3 * ldc, accumulate);
    }

    /** C[1 x 1 vector] (+)= alpha · A[1 x depth] B[depth x 1 vector]. */
    private static void kernel1x1(int depth, float alpha, float[] a, int aRow, int aDs,
                                  float[] b, int bIdx, int ldb, float[] c, int cIdx, boolean accumulate) {
        FloatVector acc = FloatVector.zero(S);
        for (int p = 0; p < depth; p++) {
            acc = FloatVector.fromArray(S, b, bIdx + p * ldb).fma(FloatVector.broadcast(S, a[aRow + p * aDs]), acc);
        }
        store(acc, alpha, c, cIdx, accumulate);
    }

    /** c[i .. i+VL) = alpha · acc, plus the old values when accumulating (the scalar kernel's arithmetic). */
    private static void store(FloatVector acc, float alpha, float[] c, int i, boolean accumulate) {
        FloatVector x = acc.mul(alpha);
        if (accumulate) {
            x = FloatVector.fromArray(S, c, i).add(x);
        }
        x.intoArray(c, i);
    }
}
