package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.UnaryOp;

class CpuElementwiseTest {

    private static final Parallel ONE = new Parallel(1);
    private static final Parallel TWO = new Parallel(2);

    private final SplittableRandom rng = new SplittableRandom(3);

    @AfterAll
    static void simdIsTested() {
        // The build runs tests with --add-modules jdk.incubator.vector, so the SIMD loops are the default.
        assertThat(ContiguousLoops.best()).isSameAs(SimdLoops.INSTANCE);
    }

    /** erfc in double: 1 ∓ erf(|x|) with erf(z) = 2/√π e^(-z²) Σ 2^k z^(2k+1) / (1·3···(2k+1)) (all terms positive). */
    static double erfcReference(double x) {
        double z = Math.abs(x);
        double term = z;
        double sum = z;
        for (int k = 1; k < 500 && term > 1e-20 * sum; k++) {
            term *= 2 * z * z / (2 * k + 1);
            sum += term;
        }
        double erf = 2 / Math.sqrt(Math.PI) * Math.exp(-z * z) * sum;
        return x >= 0 ? 1 - erf : 1 + erf;
    }

    @Test
    void erfcHasFractionalErrorBelowOnePointTwoEMinusSeven() {
        for (double x = -6; x <= 4; x += 1e-3) {
            double expected = erfcReference(x);
            assertThat(Math.abs(ScalarLoops.erfc(x) - expected) / expected).as("erfc(%s)", x).isLessThan(1.2e-7);
        }
    }

    /**
     * SIMD GELU_erf and its derivative against float64 over [-12, 12], tails included: the errors
     * {@code SimdLoops.phi} documents, absolute (3e-7 max(1, |x|) and 3e-7), not relative.
     */
    @Test
    void simdGeluErfAndItsDerivativeAreWithinTheDocumentedError() {
        float[] x = new float[240_001];
        for (int i = 0; i < x.length; i++) {
            x[i] = -12f + 24f * i / (x.length - 1);
        }
        float[] ones = new float[x.length];
        java.util.Arrays.fill(ones, 1f);
        float[] y = new float[x.length];
        float[] dx = new float[x.length];
        SimdLoops.INSTANCE.unary(UnaryOp.GELU_ERF, 0f, x, y, 0, x.length);
        SimdLoops.INSTANCE.unaryBackward(UnaryOp.GELU_ERF, 0f, x, y, ones, dx, 0, x.length);
        double worstValue = 0;
        double worstDerivative = 0;
        for (int i = 0; i < x.length; i++) {
            double phi = 0.5 * erfcReference(-x[i] / Math.sqrt(2));
            double density = Math.exp(-0.5 * x[i] * x[i]) / Math.sqrt(2 * Math.PI);
            worstValue = Math.max(worstValue, Math.abs(y[i] - x[i] * phi) / Math.max(1, Math.abs(x[i])));
            worstDerivative = Math.max(worstDerivative, Math.abs(dx[i] - (phi + x[i] * density)));
        }
        assertThat(worstValue).as("|gelu - exact| / max(1, |x|)").isLessThan(3e-7);
        assertThat(worstDerivative).as("|gelu' - exact|").isLessThan(3e-7);
        float[] special = {Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, -100f, 100f, 1e-30f, -1e-30f,
            0, 0, 0, 0, 0, 0, 0, 0};
        float[] out = new float[special.length];
        SimdLoops.INSTANCE.unary(UnaryOp.GELU_ERF, 0f, special, out, 0, special.length);
        assertThat(out[0]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(out[1]).isNaN();
        assertThat(out[2]).isZero();
        assertThat(Math.abs(out[4])).as("gelu(-100), -0").isZero();
        assertThat(out[5]).isEqualTo(100f);
        assertThat(out[6]).isEqualTo(0.5e-30f);
    }

    @Test
    void simdExpMatchesMathExpOverTheWholeFloatRange() {
        float[] x = new float[20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = -110f + 205f * i / (x.length - 1);
        }
        float[] y = new float[x.length];
        SimdLoops.INSTANCE.unary(UnaryOp.EXP, 0f, x, y, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            float expected = (float) Math.exp(x[i]);
            if (Float.isInfinite(expected)) {
                assertThat(y[i]).as("exp(%s)", x[i]).isEqualTo(expected);
            } else if (expected < Float.MIN_NORMAL) {
                // subnormal results keep their absolute accuracy
                assertThat(Math.abs(y[i] - expected)).as("exp(%s)", x[i]).isLessThanOrEqualTo(2 * Float.MIN_VALUE);
            } else {
                assertThat(Math.abs(y[i] - expected) / (double) expected).as("exp(%s)", x[i]).isLessThan(3e-7);
            }
        }
        float[] special = new float[16];
        special[0] = Float.NEGATIVE_INFINITY;
        special[1] = Float.POSITIVE_INFINITY;
        special[2] = Float.NaN;
        special[3] = -0f;
        float[] out = new float[16];
        SimdLoops.INSTANCE.unary(UnaryOp.EXP, 0f, special, out, 0, 16);
        assertThat(out[0]).isEqualTo(0f);
        assertThat(out[1]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(out[2]).isNaN();
        assertThat(out[3]).isEqualTo(1f);
    }

    /** Inputs inside each op's domain and away from its kinks. */
    private float[] inputs(UnaryOp op, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) rng.nextDouble(-6, 6);
            switch (op) {
                case LOG: case SQRT: case RSQRT: case POW: case RDIV_SCALAR:
                    v = Math.abs(v) + 0.05f;
                    break;
                default:
                    break;
            }
            x[i] = v;
        }
        return x;
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void simdAndScalarUnaryAgree(UnaryOp op) {
        int n = 1003; // not a multiple of any vector length: exercises the tails
        float p = op == UnaryOp.POW ? 1.7f : op == UnaryOp.ELU ? 0.8f : 1.3f;
        float[] x = inputs(op, n);
        float[] dy = inputs(UnaryOp.NEG, n);
        float[][] y = new float[2][n];
        float[][] dx = new float[2][n];
        ContiguousLoops[] impls = {ScalarLoops.INSTANCE, SimdLoops.INSTANCE};
        for (int k = 0; k < 2; k++) {
            CpuElementwise kernels = new CpuElementwise(ONE, impls[k]);
            kernels.unary(op, p, x, y[k], n);
            kernels.unaryBackward(op, p, x, y[k], dy, dx[k], n);
        }
        for (int i = 0; i < n; i++) {
            assertThat(y[1][i]).as("%s(%s)", op, x[i]).isCloseTo(y[0][i], within(y[0][i]));
            assertThat(dx[1][i]).as("%s'(%s)", op, x[i]).isCloseTo(dx[0][i], within(dx[0][i]));
        }
    }

    private static org.assertj.core.data.Offset<Float> within(float expected) {
        return org.assertj.core.data.Offset.offset(2e-6f * (1 + Math.abs(expected)));
    }

    @Test
    void softplusAndSigmoidAreStableForLargeInputs() {
        float[] x = {-200f, -90f, -30f, 30f, 90f, 200f};
        float[] y = new float[x.length];
        for (ContiguousLoops impl : new ContiguousLoops[] {ScalarLoops.INSTANCE, SimdLoops.INSTANCE}) {
            impl.unary(UnaryOp.SOFTPLUS, 0f, x, y, 0, x.length);
            assertThat(y).containsExactly((float) Math.exp(-200), (float) Math.exp(-90), (float) Math.log1p(Math.exp(-30)),
                    30f, 90f, 200f);
            impl.unary(UnaryOp.SIGMOID, 0f, x, y, 0, x.length);
            assertThat(y[0]).isEqualTo(0f);
            assertThat(y[5]).isEqualTo(1f);
            impl.unary(UnaryOp.SILU, 0f, x, y, 0, x.length);
            assertThat(y[0]).isEqualTo(-0f);
            assertThat(y[5]).isEqualTo(200f);
        }
    }

    /** out[i] = op(a[i·aStrides], b[i·bStrides]) the slow way, one multi-index at a time. */
    private static float[] binaryReference(BinaryOp op, int[] shape, float[] a, int[] as, float[] b, int[] bs) {
        int total = 1;
        for (int s : shape) {
            total *= s;
        }
        float[] out = new float[total];
        for (int flat = 0; flat < total; flat++) {
            int rest = flat;
            int ao = 0;
            int bo = 0;
            for (int d = shape.length - 1; d >= 0; d--) {
                int i = rest % shape[d];
                rest /= shape[d];
                ao += i * as[d];
                bo += i * bs[d];
            }
            out[flat] = ScalarLoops.apply(op, a[ao], b[bo]);
        }
        return out;
    }

    private float[] random(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // few distinct values, so EQ sees equal pairs
            x[i] = rng.nextInt(-4, 5) * 0.5f;
        }
        return x;
    }

    /** {shape, a strides, b strides, a length, b length}: same shape, row, column and scalar broadcasts, both sides broadcast, a transposed view, 0-d. */
    private static final int[][][] STRIDED_CASES = {
        {{300, 70}, {70, 1}, {70, 1}, {21000}, {21000}},
        {{300, 70}, {70, 1}, {0, 1}, {21000}, {70}},
        {{300, 70}, {0, 1}, {70, 1}, {70}, {21000}},
        {{4, 7, 5}, {35, 5, 1}, {7, 1, 0}, {140}, {28}},
        {{4, 7, 5}, {35, 5, 1}, {0, 0, 0}, {140}, {1}},
        {{3, 4, 5}, {5, 0, 1}, {0, 1, 0}, {15}, {4}},
        {{6, 9}, {1, 6}, {9, 1}, {54}, {54}},
        {{2, 1, 3}, {3, 3, 1}, {3, 3, 1}, {6}, {6}},
        {{}, {}, {}, {1}, {1}},
        {{5, 0, 3}, {0, 3, 1}, {0, 0, 1}, {1}, {3}}
    };

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryMatchesTheIndexByIndexDefinitionForAnyStrides(BinaryOp op) {
        for (int[][] c : STRIDED_CASES) {
            float[] a = random(c[3][0]);
            float[] b = random(c[4][0]);
            float[] expected = binaryReference(op, c[0], a, c[1], b, c[2]);
            for (ContiguousLoops impl : new ContiguousLoops[] {ScalarLoops.INSTANCE, SimdLoops.INSTANCE}) {
                for (Parallel parallel : new Parallel[] {ONE, TWO}) {
                    float[] out = new float[expected.length];
                    new CpuElementwise(parallel, impl).binary(op, c[0], a, c[1], b, c[2], out);
                    assertThat(out).as("%s on shape %s", op, java.util.Arrays.toString(c[0])).containsExactly(expected);
                }
            }
        }
    }

    @Test
    void whereSelectsThroughBroadcastStrides() {
        int[] shape = {3, 4, 5};
        float[] cond = {1, 0, 0, 1};          // [1, 4, 1]
        float[] a = random(60);               // [3, 4, 5]
        float[] b = {10, 20, 30, 40, 50};     // [5]
        int[] cs = {0, 1, 0};
        int[] as = {20, 5, 1};
        int[] bs = {0, 0, 1};
        float[] out = new float[60];
        new CpuElementwise(TWO).where(shape, cond, cs, a, as, b, bs, out);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                for (int k = 0; k < 5; k++) {
                    float expected = cond[j] != 0 ? a[i * 20 + j * 5 + k] : b[k];
                    assertThat(out[i * 20 + j * 5 + k]).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void stridesOfTheWrongRankAreRejected() {
        assertThatThrownBy(() -> new CpuElementwise(ONE).binary(BinaryOp.ADD, new int[] {2, 3}, new float[6],
                new int[] {3, 1}, new float[3], new int[] {1}, new float[6]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("binary ADD").hasMessageContaining("[2, 3]").hasMessageContaining("[1]");
    }

    @Test
    void collapseMergesContiguousDimensionsAndDropsOnes() {
        int[][] c = CpuElementwise.collapse(new int[] {4, 1, 6, 5}, new int[] {30, 0, 5, 1}, new int[] {0, 0, 5, 1});
        assertThat(c[0]).containsExactly(4, 30);
        assertThat(c[1]).containsExactly(30, 1);
        assertThat(c[2]).containsExactly(0, 1);
    }

    @Test
    void axpyAndSumOfSquaresDoNotDependOnTheThreadCount() {
        int n = 40_003;
        float[] x = random(n);
        float[] y1 = random(n);
        float[] y2 = y1.clone();
        float[] expected = y1.clone();
        for (int i = 0; i < n; i++) {
            expected[i] += 0.75f * x[i];
        }
        new CpuElementwise(ONE, ScalarLoops.INSTANCE).axpy(0.75f, x, y1, n);
        new CpuElementwise(TWO).axpy(0.75f, x, y2, n);
        assertThat(y1).containsExactly(expected);
        assertThat(y2).containsExactly(expected);

        double reference = 0;
        for (float v : x) {
            reference += (double) v * v;
        }
        double one = new CpuElementwise(ONE).sumOfSquares(x, n);
        double two = new CpuElementwise(TWO).sumOfSquares(x, n);
        assertThat(one).isEqualTo(two).isCloseTo(reference, org.assertj.core.data.Offset.offset(1e-9 * reference));
    }

    /**
     * The dropout mask is SplittableRandom's nextFloat() draws in order, element by element, from
     * both loops and any thread count, including the scalar tails of a ragged length.
     */
    @Test
    void dropoutDrawsSplittableRandomsFloatsOnEveryLoopAndThreadCount() {
        int n = 40_003;
        float p = 0.25f;
        float[] x = random(n);
        long seed = 123_456_789L;
        java.util.SplittableRandom draws = new java.util.SplittableRandom(seed);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = draws.nextFloat() < p ? 0f : x[i] * (1f / (1f - p));
        }
        for (ContiguousLoops impl : new ContiguousLoops[] {ScalarLoops.INSTANCE, SimdLoops.INSTANCE}) {
            for (Parallel parallel : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n];
                new CpuElementwise(parallel, impl).dropout(seed, p, x, y, n);
                assertThat(y).as("%s on %d threads", impl.getClass().getSimpleName(), parallel.threads())
                        .containsExactly(expected);
            }
        }
    }

    @Test
    void unaryResultsDoNotDependOnTheThreadCount() {
        int n = 40_003;
        float[] x = inputs(UnaryOp.GELU_ERF, n);
        float[] y1 = new float[n];
        float[] y2 = new float[n];
        new CpuElementwise(ONE).unary(UnaryOp.GELU_ERF, 0f, x, y1, n);
        new CpuElementwise(TWO).unary(UnaryOp.GELU_ERF, 0f, x, y2, n);
        assertThat(y2).containsExactly(y1);
    }
}
