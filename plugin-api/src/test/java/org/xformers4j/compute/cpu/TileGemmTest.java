package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TileGemmTest {

    @Test
    void simdAndScalarKernelsComputeTheSameProducts() {
        SplittableRandom rng = new SplittableRandom(1);
        // sizes around the 4-row, 4-vector tile and the vector length; A read directly and transposed
        int[][] shapes = {{1, 1, 1}, {4, 64, 64}, {5, 67, 3}, {64, 64, 64}, {3, 17, 33}, {8, 15, 9}, {7, 130, 20}};
        for (int[] s : shapes) {
            int rows = s[0];
            int cols = s[1];
            int depth = s[2];
            for (boolean transposedA : new boolean[] {false, true}) {
                for (boolean accumulate : new boolean[] {false, true}) {
                    float[] a = random(rng, rows * depth + 3);
                    float[] b = random(rng, depth * (cols + 2) + 1);
                    float[] c = random(rng, rows * (cols + 5) + 2);
                    int rowStride = transposedA ? 1 : depth;
                    int depthStride = transposedA ? rows : 1;
                    float[] expected = c.clone();
                    ScalarTileGemm.INSTANCE.multiply(rows, cols, depth, 0.5f, a, 3, rowStride, depthStride, b, 1,
                            cols + 2, expected, 2, cols + 5, accumulate);
                    float[] actual = c.clone();
                    TileGemm.best().multiply(rows, cols, depth, 0.5f, a, 3, rowStride, depthStride, b, 1, cols + 2,
                            actual, 2, cols + 5, accumulate);
                    for (int i = 0; i < c.length; i++) {
                        assertThat(actual[i]).as("%dx%dx%d element %d", rows, cols, depth, i)
                                .isCloseTo(expected[i], within(1e-5f * (1 + depth)));
                    }
                    // C outside the rows x cols window is untouched
                    assertThat(actual[0]).isEqualTo(c[0]);
                    assertThat(actual[2 + cols]).isEqualTo(c[2 + cols]);
                    if (!accumulate) {
                        // a plain product: one element against a direct sum
                        double sum = 0;
                        for (int p = 0; p < depth; p++) {
                            sum += a[3 + p * depthStride] * b[1 + p * (cols + 2)];
                        }
                        assertThat(actual[2]).isCloseTo((float) (0.5 * sum), within(1e-5f * (1 + depth)));
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
