package org.xformers4j.compute.cpu;

/**
 * The tile kernels of a fused attention kernel (blocks of 64 queries by 128 keys of scores,
 * queries, keys and values that stay in cache): products of a strided left operand and a packed
 * right one, and the softmax steps on their results. One thread, no argument checks. {@link ScalarTileGemm} in plain Java,
 * {@link SimdTileGemm} with {@code jdk.incubator.vector}.
 *
 * <p>The right operand is packed Goto/BLIS style (Goto and van de Geijn, 2008, "Anatomy of
 * High-Performance Matrix Multiplication") so that the micro-kernel loads it as whole vectors:
 * B [depth, cols] in slivers of {@link #nr()} columns, B[p, c] at
 * {@code b[bOffset + (c / nr) · bSliverStride + p · nr + c % nr]} (see {@link #pack}). The left
 * operand, whose elements the kernel broadcasts one at a time, is read where it lies, with any
 * strides: A [rows, depth], A[r, p] at {@code a[aOffset + r · aRowStride + p · aDepthStride]}; a
 * query block, a head's keys or their transposes are such views of the [.., length, dim] inputs,
 * so they need no copy. A product
 * C = A B is written in the layout of a right operand, C[r, c] at
 * {@code c[cOffset + (c / nr) · cSliverStride + r · nr + c % nr]}, so it can be the right operand
 * of the next product, contracted over its rows; tiles in this layout are called sliver tiles below.
 *
 * <p>Every element's sum runs over p in ascending order, so a product does not depend on which
 * thread computes it.
 */
interface TileGemm {

    /** Rows of a left-operand sliver. */
    int MR = 8;

    /** Columns of a right-operand sliver, and of a product's sliver tile. */
    int nr();

    /**
     * Packs X [rows, depth], X[r, p] = x[offset + r · rowStride + p · depthStride], into slivers of
     * {@code width} rows: dst[dstOffset + (r / width) · width · depth + p · width + r % width], the
     * rows past the last one zero up to a whole sliver. With width {@link #nr()} Xᵀ becomes a right
     * operand.
     */
    static void pack(float[] x, int offset, int rowStride, int depthStride, int rows, int depth, int width,
                     float[] dst, int dstOffset) {
        for (int r0 = 0; r0 < rows; r0 += width) {
            int n = Math.min(width, rows - r0);
            int sliver = dstOffset + r0 * depth;
            for (int p = 0; p < depth; p++) {
                int src = offset + r0 * rowStride + p * depthStride;
                int d = sliver + p * width;
                for (int r = 0; r < n; r++) {
                    dst[d + r] = x[src + r * rowStride];
                }
                for (int r = n; r < width; r++) {
                    dst[d + r] = 0f;
                }
            }
        }
    }

    /** {@code n} rounded up to a whole number of slivers of {@code width}. */
    static int roundUp(int n, int width) {
        return (n + width - 1) / width * width;
    }

    /**
     * C = alpha · A B, plus the old C when {@code accumulate}, for A [rows, depth] read in place
     * and B [depth, cols] packed, as in the class comment. Whole MR × nr tiles are written: rows
     * rounded up to MR and columns to nr. Only the rows of A below {@code rows} are read (those of a
     * last, partial sliver of MR are copied to a tile padded with zero rows); zero rows of A and zero
     * columns of B give zeros in C.
     */
    void multiply(int rows, int cols, int depth, float alpha,
                  float[] a, int aOffset, int aRowStride, int aDepthStride,
                  float[] b, int bOffset, int bSliverStride,
                  float[] c, int cOffset, int cSliverStride, boolean accumulate);

    /**
     * One step of the online softmax down the columns of the sliver tile s [rows, cols] (rows are
     * keys, columns queries): with m' = max(m, column max of s), P = e^(s - m') replaces s,
     * alpha = e^(m - m'), l = alpha · l + column sum of P and m = m'. A column whose m' is -∞ gets
     * P = 0 and alpha = 0. Works on whole slivers of columns: m, l and alpha hold
     * {@code roundUp(cols, nr)} values.
     */
    void softmaxColumns(float[] s, int rows, int cols, int sliverStride, float[] m, float[] l, float[] alpha);

    /** c[r, col] *= scale[col] for the sliver tile c [rows, cols] (whole slivers of columns). */
    void scaleColumns(float[] c, int rows, int cols, int sliverStride, float[] scale);

    /**
     * s = e^(s - shift) · factor for the sliver tile s [rows, cols], the shift and factor taken from
     * shift[shiftOffset + r] and factor[factorOffset + r] when {@code perRow}, from index col
     * otherwise (whole slivers of columns).
     */
    void expShifted(float[] s, int rows, int cols, int sliverStride, float[] shift, int shiftOffset, float[] factor,
                    int factorOffset, boolean perRow);

    /**
     * ds = p ∘ (ds - delta) for the sliver tiles ds and p [rows, cols], delta taken from delta[r]
     * when {@code perRow}, from delta[col] otherwise (whole slivers of columns): the score gradient
     * from the weight gradient dP (in ds) and D = rowsum(dO ∘ O).
     */
    void scoreGradient(float[] ds, float[] p, int rows, int cols, int sliverStride, float[] delta, int deltaOffset,
                       boolean perRow);

    /** {@link SimdTileGemm} when the Vector API is usable ({@link VectorApi}), {@link ScalarTileGemm} otherwise. */
    static TileGemm best() {
        return Holder.BEST;
    }

    /** Holds the kernel, chosen when first asked for ({@link VectorApi}). */
    final class Holder {
        static final TileGemm BEST = VectorApi.kernel("org.xformers4j.compute.cpu.SimdTileGemm", TileGemm.class)
                .orElse(ScalarTileGemm.INSTANCE);

        private Holder() {
        }
    }
}
