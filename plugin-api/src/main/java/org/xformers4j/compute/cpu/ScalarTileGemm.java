package org.xformers4j.compute.cpu;

/** {@link TileGemm} in plain Java: available on every JVM. */
final class ScalarTileGemm implements TileGemm {

    static final ScalarTileGemm INSTANCE = new ScalarTileGemm();

    private ScalarTileGemm() {
    }

    @Override
    public void multiply(int rows, int cols, int depth, float alpha,
                         float[] a, int aOffset, int aRowStride, int aDepthStride,
                         float[] b, int bOffset, int ldb,
                         float[] c, int cOffset, int ldc, boolean accumulate) {
        float[] acc = new float[cols];
        for (int r = 0; r < rows; r++) {
            java.util.Arrays.fill(acc, 0f);
            int aRow = aOffset + r * aRowStride;
            // the row of C as a sum of rows of B: the inner loop runs along contiguous memory
            for (int p = 0; p < depth; p++) {
                float x = a[aRow + p * aDepthStride];
                int bRow = bOffset + p * ldb;
                for (int j = 0; j < cols; j++) {
                    acc[j] += x * b[bRow + j];
                }
            }
            int cRow = cOffset + r * ldc;
            for (int j = 0; j < cols; j++) {
                c[cRow + j] = accumulate ? c[cRow + j] + alpha * acc[j] : alpha * acc[j];
            }
        }
    }
}
