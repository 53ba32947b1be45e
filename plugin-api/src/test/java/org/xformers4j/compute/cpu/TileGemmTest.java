package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TileGemmTest {

    private static final List<TileGemm> KERNELS = List.of(TileGemm.best(), ScalarTileGemm.INSTANCE);

    @Test
    void productsOfInPlaceAAndPackedBMatchDirectSums() {
        SplittableRandom rng = new SplittableRandom(1);
        // sizes around the 8-row sliver and the sliver widths; A read directly and transposed
        int[][] shapes = {{1, 1, 1}, {8, 32, 64}, {5, 67, 3}, {64, 128, 64}, {3, 17, 33}, {9, 15, 9}, {7, 130, 20}};
        for (TileGemm gemm : KERNELS) {
            int nr = gemm.nr();
            for (int[] s : shapes) {
                int rows = s[0];
                int cols = s[1];
                int depth = s[2];
                for (boolean transposedA : new boolean[] {false, true}) {
                    float[] a = random(rng, rows * depth + 3);
                    float[] b = random(rng, depth * (cols + 2) + 1);
                    int rowStride = transposedA ? 1 : depth;
                    int depthStride = transposedA ? rows : 1;
                    float[] bp = new float[TileGemm.roundUp(cols, nr) * depth + 4];
                    // B [depth, cols] with leading dimension cols + 2, packed as the transpose of a [cols, depth] matrix
                    TileGemm.pack(b, 1, 1, cols + 2, cols, depth, nr, bp, 4);
                    int cStride = TileGemm.roundUp(rows, TileGemm.MR) * nr;
                    float[] old = random(rng, TileGemm.roundUp(cols, nr) / nr * cStride + 2);
                    for (boolean accumulate : new boolean[] {false, true}) {
                        float[] c = old.clone();
                        // A read in place from an array that ends with it: a partial last sliver must not read past it
                        gemm.multiply(rows, cols, depth, 0.5f, a, 3, rowStride, depthStride, bp, 4, nr * depth,
                                c, 2, cStride, accumulate);
                        for (int r = 0; r < rows; r++) {
                            for (int j = 0; j < cols; j++) {
                                double sum = 0;
                                for (int p = 0; p < depth; p++) {
                                    sum += (double) a[3 + r * rowStride + p * depthStride] * b[1 + p * (cols + 2) + j];
                                }
                                int at = 2 + j / nr * cStride + r * nr + j % nr;
                                double expected = 0.5 * sum + (accumulate ? old[at] : 0);
                                assertThat((double) c[at]).as("%s %dx%dx%d (%d, %d)", gemm.getClass().getSimpleName(),
                                        rows, cols, depth, r, j).isCloseTo(expected, within(1e-5 * (1 + depth)));
                            }
                        }
                        // outside the whole tiles C is untouched
                        assertThat(c[0]).isEqualTo(old[0]);
                        assertThat(c[1]).isEqualTo(old[1]);
                    }
                }
            }
        }
    }

    @Test
    void onlineSoftmaxStepsDownTheColumns() {
        SplittableRandom rng = new SplittableRandom(2);
        for (TileGemm gemm : KERNELS) {
            int nr = gemm.nr();
            int rows = 11;
            int cols = 2 * nr;
            int stride = rows * nr;
            float[] s = random(rng, 2 * stride);
            // column 1 is masked everywhere, and so far has seen nothing: it keeps no weight
            for (int r = 0; r < rows; r++) {
                s[r * nr + 1] = Float.NEGATIVE_INFINITY;
            }
            float[] m = random(rng, cols);
            float[] l = new float[cols];
            m[1] = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                l[c] = c == 1 ? 0f : 1.5f;
            }
            float[] s0 = s.clone();
            float[] m0 = m.clone();
            float[] alpha = new float[cols];
            gemm.softmaxColumns(s, rows, cols, stride, m, l, alpha);
            for (int c = 0; c < cols; c++) {
                int col = c / nr * stride + c % nr;
                double max = m0[c];
                for (int r = 0; r < rows; r++) {
                    max = Math.max(max, s0[col + r * nr]);
                }
                if (c == 1) {
                    assertThat(m[c]).isEqualTo(Float.NEGATIVE_INFINITY);
                    assertThat(l[c]).isZero();
                    assertThat(s[col]).isZero();
                    continue;
                }
                double sum = 0;
                for (int r = 0; r < rows; r++) {
                    double e = Math.exp(s0[col + r * nr] - max);
                    sum += e;
                    assertThat((double) s[col + r * nr]).isCloseTo(e, within(1e-6));
                }
                double a = Math.exp(m0[c] - max);
                assertThat(m[c]).isEqualTo((float) max);
                assertThat((double) alpha[c]).isCloseTo(a, within(1e-6));
                assertThat((double) l[c]).isCloseTo(a * 1.5 + sum, within(1e-5 * (1 + sum)));
            }
        }
    }

    @Test
    void shiftsAndScoreGradientsTakeTheirValuePerRowOrPerColumn() {
        SplittableRandom rng = new SplittableRandom(3);
        for (TileGemm gemm : KERNELS) {
            int nr = gemm.nr();
            int rows = 5;
            int cols = 2 * nr;
            int stride = rows * nr + 3;
            float[] shift = random(rng, cols + 1);
            float[] factor = random(rng, cols + 2);
            for (boolean perRow : new boolean[] {true, false}) {
                float[] x = random(rng, 2 * stride);
                float[] ds = random(rng, 2 * stride);
                float[] e = x.clone();
                float[] g = ds.clone();
                gemm.expShifted(e, rows, cols, stride, shift, 1, factor, 2, perRow);
                gemm.scoreGradient(g, x, rows, cols, stride, shift, 1, perRow);
                float[] scale = shift.clone();
                float[] scaled = x.clone();
                gemm.scaleColumns(scaled, rows, cols, stride, scale);
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        int at = c / nr * stride + r * nr + c % nr;
                        float v = shift[1 + (perRow ? r : c)];
                        double expected = Math.exp(x[at] - v) * factor[2 + (perRow ? r : c)];
                        assertThat((double) e[at]).isCloseTo(expected, within(1e-6 * Math.abs(expected)));
                        assertThat(g[at]).isCloseTo(x[at] * (ds[at] - v), within(1e-6f));
                        assertThat(scaled[at]).isEqualTo(x[at] * scale[c]);
                    }
                }
            }
        }
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
