package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.compute.ReduceOp;

/** The reduction kernels with SIMD and scalar loops agree, on row (inner 1) and column layouts with vector tails. */
class CpuReductionsTest {

    private static final Parallel ONE = new Parallel(1);

    private static void assertClose(float[] actual, float[] expected, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("%s element %d", what, i).isCloseTo(expected[i], within(2e-6f * (1 + Math.abs(expected[i]))));
        }
    }

    @ParameterizedTest(name = "[{0}, {1}, {2}]")
    @CsvSource({"5, 37, 1", "3, 1003, 1", "4, 9, 70", "2, 5, 131"})
    void simdAndScalarLoopsAgree(int outer, int n, int inner) {
        SplittableRandom rng = new SplittableRandom(outer * 31 + n);
        float[] x = new float[outer * n * inner];
        float[] dy = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (4 * rng.nextGaussian());
            dy[i] = (float) rng.nextGaussian();
        }
        CpuReductions scalar = new CpuReductions(ONE, ScalarLoops.INSTANCE);
        CpuReductions simd = new CpuReductions(ONE, SimdLoops.INSTANCE);
        for (ReduceOp op : ReduceOp.values()) {
            float[][] out = new float[2][outer * inner];
            float[][] idx = new float[2][outer * inner];
            scalar.reduce(op, x, outer, n, inner, out[0], idx[0]);
            simd.reduce(op, x, outer, n, inner, out[1], idx[1]);
            assertClose(out[1], out[0], op.toString());
            if (op == ReduceOp.MAX || op == ReduceOp.MIN) {
                assertThat(idx[1]).containsExactly(idx[0]);
            }
        }
        for (boolean log : new boolean[] {false, true}) {
            float[][] y = new float[2][x.length];
            float[][] dx = new float[2][x.length];
            scalar.softmax(x, outer, n, inner, y[0], log);
            simd.softmax(x, outer, n, inner, y[1], log);
            assertClose(y[1], y[0], "softmax log=" + log);
            scalar.softmaxBackward(y[0], dy, outer, n, inner, dx[0], log);
            simd.softmaxBackward(y[0], dy, outer, n, inner, dx[1], log);
            assertClose(dx[1], dx[0], "softmax backward log=" + log);
        }
        for (boolean reverse : new boolean[] {false, true}) {
            float[][] y = new float[2][x.length];
            scalar.cumsum(x, outer, n, inner, y[0], reverse);
            simd.cumsum(x, outer, n, inner, y[1], reverse);
            assertThat(y[1]).containsExactly(y[0]);
        }
    }

    @ParameterizedTest(name = "[{0}, {1}, {2}]")
    @CsvSource({"3, 37, 1", "2, 9, 70"})
    void softmaxOfALineOfMinusInfinityIsZerosWithZeroGradient(int outer, int n, int inner) {
        SplittableRandom rng = new SplittableRandom(n);
        float[] x = new float[outer * n * inner];
        float[] dy = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            // outer block 1 all -∞ (fully masked attention rows), block 0 partly, the rest finite
            int o = i / (n * inner);
            boolean masked = o == 1 || o == 0 && i % 3 == 0;
            x[i] = masked ? Float.NEGATIVE_INFINITY : (float) rng.nextGaussian();
            dy[i] = (float) rng.nextGaussian();
        }
        for (CpuReductions kernels : new CpuReductions[] {new CpuReductions(ONE, ScalarLoops.INSTANCE),
                new CpuReductions(ONE, SimdLoops.INSTANCE)}) {
            float[] y = new float[x.length];
            float[] dx = new float[x.length];
            kernels.softmax(x, outer, n, inner, y, false);
            kernels.softmaxBackward(y, dy, outer, n, inner, dx, false);
            for (int i = 0; i < x.length; i++) {
                if (x[i] == Float.NEGATIVE_INFINITY) {
                    assertThat(y[i]).as("softmax element %d", i).isZero();
                    assertThat(dx[i]).as("gradient element %d", i).isZero();
                } else {
                    assertThat(y[i]).as("softmax element %d", i).isPositive();
                    assertThat(dx[i]).as("gradient element %d", i).isFinite();
                }
            }
            for (int j = 0; j < inner; j++) {
                double sum = 0;
                for (int r = 0; r < n; r++) {
                    sum += y[r * inner + j];
                }
                assertThat(sum).as("line %d of the partly masked block", j).isCloseTo(1.0, within(1e-5));
            }
        }
    }
}
