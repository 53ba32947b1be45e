package org.xformers4j.compute.cpu;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Products of the small tiles a fused kernel keeps in cache (blocks of 64 queries by 128 keys of scores,
 * queries, keys and values), straight from where the operands lie: no packing, one thread, no
 * argument checks. The left operand is read element by element through two strides, so it may be
 * a transposed view; the right operand and the result are row-major with a leading dimension.
 * {@link ScalarTileGemm} in plain Java, {@link SimdTileGemm} with {@code jdk.incubator.vector}.
 *
 * <p>Every element's sum runs over p in ascending order, so a product does not depend on which
 * thread computes it.
 */
interface TileGemm {

    /**
     * C[r, c] = alpha · Σ_p A[r, p] · B[p, c], plus the old C[r, c] when {@code accumulate}, for
     * r &lt; rows, c &lt; cols, p &lt; depth, where A[r, p] = a[aOffset + r · aRowStride + p · aDepthStride],
     * B[p, c] = b[bOffset + p · ldb + c] and C[r, c] = c[cOffset + r · ldc + c].
     */
    void multiply(int rows, int cols, int depth, float alpha,
                  float[] a, int aOffset, int aRowStride, int aDepthStride,
                  float[] b, int bOffset, int ldb,
                  float[] c, int cOffset, int ldc, boolean accumulate);

    /** {@link SimdTileGemm} when the module {@code jdk.incubator.vector} is in the boot layer, {@link ScalarTileGemm} otherwise. */
    static TileGemm best() {
        return Holder.BEST;
    }

    /** Loads the SIMD kernel reflectively, so that nothing links against the Vector API without the module. */
    final class Holder {
        private static final Logger LOG = Logger.getLogger(TileGemm.class.getName());
        static final TileGemm BEST = select();

        private Holder() {
        }

        private static TileGemm select() {
            if (!GemmSupport.vectorModulePresent()) {
                return ScalarTileGemm.INSTANCE;
            }
            try {
                return (TileGemm) Class.forName("org.xformers4j.compute.cpu.SimdTileGemm").getField("INSTANCE").get(null);
            } catch (ReflectiveOperationException | LinkageError e) {
                LOG.log(Level.WARNING, "jdk.incubator.vector is present but the SIMD tile GEMM failed to load; "
                        + "using the scalar kernel", e);
                return ScalarTileGemm.INSTANCE;
            }
        }
    }
}
