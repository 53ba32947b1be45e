package org.xformers4j.compute.cpu;

/** {@link TileGemm} in plain Java: available on every JVM. */
final class ScalarTileGemm implements TileGemm {

    static final ScalarTileGemm INSTANCE = new ScalarTileGemm();

    /** Columns of a right-operand sliver. */
    private static final int NR = 16;

    private ScalarTileGemm() {
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
        float[] acc = new float[MR * NR];
        for (int r0 = 0; r0 < rows; r0 += MR) {
            int n = Math.min(MR, rows - r0);
            for (int c0 = 0; c0 < cols; c0 += NR) {
                int bIdx = bOffset + c0 / NR * bSliverStride;
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < depth; p++) {
                    for (int r = 0; r < n; r++) {
                        float x = a[aOffset + (r0 + r) * aRowStride + p * aDepthStride];
                        for (int j = 0; j < NR; j++) {
                            acc[r * NR + j] += x * b[bIdx + p * NR + j];
                        }
                    }
                }
                int cIdx = cOffset + c0 / NR * cSliverStride + r0 * NR;
                for (int t = 0; t < MR * NR; t++) {
                    c[cIdx + t] = accumulate ? c[cIdx + t] + alpha * acc[t] : alpha * acc[t];
                }
            }
        }
    }

    @Override
    public void softmaxColumns(float[] s, int rows, int cols, int sliverStride, float[] m, float[] l, float[] alpha) {
        for (int c = 0; c < cols; c++) {
            int col = c / NR * sliverStride + c % NR;
            float max = m[c];
            for (int r = 0; r < rows; r++) {
                max = Math.max(max, s[col + r * NR]);
            }
            float shift = max == Float.NEGATIVE_INFINITY ? 0f : max;
            float sum = 0f;
            for (int r = 0; r < rows; r++) {
                float e = (float) Math.exp(s[col + r * NR] - shift);
                s[col + r * NR] = e;
                sum += e;
            }
            alpha[c] = (float) Math.exp(m[c] - shift);
            l[c] = alpha[c] * l[c] + sum;
            m[c] = max;
        }
    }

    @Override
    public void scaleColumns(float[] c, int rows, int cols, int sliverStride, float[] scale) {
        for (int j = 0; j < cols; j++) {
            int col = j / NR * sliverStride + j % NR;
            for (int r = 0; r < rows; r++) {
                c[col + r * NR] *= scale[j];
            }
        }
    }

    @Override
    public void expShifted(float[] s, int rows, int cols, int sliverStride, float[] shift, int shiftOffset,
                           float[] factor, int factorOffset, boolean perRow) {
        for (int j = 0; j < cols; j++) {
            int col = j / NR * sliverStride + j % NR;
            for (int r = 0; r < rows; r++) {
                int k = perRow ? r : j;
                s[col + r * NR] = (float) Math.exp(s[col + r * NR] - shift[shiftOffset + k]) * factor[factorOffset + k];
            }
        }
    }

    @Override
    public void scoreGradient(float[] ds, float[] p, int rows, int cols, int sliverStride, float[] delta,
                              int deltaOffset, boolean perRow) {
        for (int j = 0; j < cols; j++) {
            int col = j / NR * sliverStride + j % NR;
            for (int r = 0; r < rows; r++) {
                int at = col + r * NR;
                ds[at] = p[at] * (ds[at] - delta[deltaOffset + (perRow ? r : j)]);
            }
        }
    }
}
