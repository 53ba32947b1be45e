package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

class ReductionOpsTest {

    private static final int[] SHAPE = {3, 4, 5};

    private final SplittableRandom rng = new SplittableRandom(5);

    /** A reduction of one slice (the values along the reduced dimension) in double. */
    private interface SliceFunction {
        double apply(double[] slice);
    }

    /** A map of one slice to a slice of the same length in double. */
    private interface SliceMap {
        double[] apply(double[] slice);
    }

    private static double[] reduceReference(double[] x, int[] shape, int dim, SliceFunction f) {
        int outer = Shape.outer(shape, dim);
        int n = shape[dim];
        int inner = Shape.inner(shape, dim);
        double[] out = new double[outer * inner];
        double[] slice = new double[n];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                for (int r = 0; r < n; r++) {
                    slice[r] = x[(o * n + r) * inner + j];
                }
                out[o * inner + j] = f.apply(slice);
            }
        }
        return out;
    }

    private static double[] mapReference(double[] x, int[] shape, int dim, SliceMap f) {
        int outer = Shape.outer(shape, dim);
        int n = shape[dim];
        int inner = Shape.inner(shape, dim);
        double[] out = new double[x.length];
        double[] slice = new double[n];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                for (int r = 0; r < n; r++) {
                    slice[r] = x[(o * n + r) * inner + j];
                }
                double[] y = f.apply(slice);
                for (int r = 0; r < n; r++) {
                    out[(o * n + r) * inner + j] = y[r];
                }
            }
        }
        return out;
    }

    private static double sum(double[] s) {
        double t = 0;
        for (double v : s) {
            t += v;
        }
        return t;
    }

    private static double max(double[] s) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : s) {
            m = Math.max(m, v);
        }
        return m;
    }

    private static double min(double[] s) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : s) {
            m = Math.min(m, v);
        }
        return m;
    }

    private static double logsumexp(double[] s) {
        double m = max(s);
        double t = 0;
        for (double v : s) {
            t += Math.exp(v - m);
        }
        return m + Math.log(t);
    }

    private static double[] softmax(double[] s) {
        double lse = logsumexp(s);
        double[] y = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            y[i] = Math.exp(s[i] - lse);
        }
        return y;
    }

    private static double[] logSoftmax(double[] s) {
        double lse = logsumexp(s);
        double[] y = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            y[i] = s[i] - lse;
        }
        return y;
    }

    private static double[] cumsum(double[] s) {
        double[] y = new double[s.length];
        double t = 0;
        for (int i = 0; i < s.length; i++) {
            t += s[i];
            y[i] = t;
        }
        return y;
    }

    private static SliceFunction slice(String op) {
        switch (op) {
            case "sum": return ReductionOpsTest::sum;
            case "mean": return s -> sum(s) / s.length;
            case "max": return ReductionOpsTest::max;
            case "min": return ReductionOpsTest::min;
            case "logsumexp": return ReductionOpsTest::logsumexp;
            default: throw new AssertionError(op);
        }
    }

    private static Tensor reduce(String op, Tensor x, int dim, boolean keepDim) {
        switch (op) {
            case "sum": return x.sum(dim, keepDim);
            case "mean": return x.mean(dim, keepDim);
            case "max": return x.max(dim, keepDim);
            case "min": return x.min(dim, keepDim);
            case "logsumexp": return x.logsumexp(dim, keepDim);
            default: throw new AssertionError(op);
        }
    }

    @ParameterizedTest(name = "{0} dim {1} keepDim {2}")
    @CsvSource({
        "sum, 0, false", "sum, 1, true", "sum, -1, false",
        "mean, 0, true", "mean, 1, false", "mean, 2, false",
        "max, 0, false", "max, 1, false", "max, -1, true",
        "min, 0, true", "min, 1, false", "min, 2, false",
        "logsumexp, 0, false", "logsumexp, -2, true", "logsumexp, 2, false"
    })
    void reductionsOnFirstMiddleAndLastDimsWithGradients(String op, int dim, boolean keepDim) {
        int d = dim < 0 ? dim + SHAPE.length : dim;
        Tensor x = GradCheck.input(rng, SHAPE);
        Tensor out = reduce(op, x, dim, keepDim);
        int[] expectedShape = keepDim ? SHAPE.clone() : new int[SHAPE.length - 1];
        if (keepDim) {
            expectedShape[d] = 1;
        } else {
            for (int i = 0, k = 0; i < SHAPE.length; i++) {
                if (i != d) {
                    expectedShape[k++] = SHAPE[i];
                }
            }
        }
        assertThat(out.shape()).containsExactly(expectedShape);
        GradCheck.of(op + " dim " + dim, in -> reduce(op, in[0], dim, keepDim),
                ref -> reduceReference(ref[0], SHAPE, d, slice(op)), x).check();
    }

    @Test
    void wholeTensorReductionsAreZeroDimensional() {
        int[] flat = {1, 60, 1};
        for (String op : new String[] {"sum", "mean", "max"}) {
            Function<Tensor, Tensor> f = op.equals("sum") ? Tensor::sum : op.equals("mean") ? Tensor::mean : Tensor::max;
            Tensor x = GradCheck.input(rng, SHAPE);
            assertThat(f.apply(x).shape()).isEmpty();
            GradCheck.of(op + " all", in -> f.apply(in[0]), ref -> reduceReference(ref[0], flat, 1, slice(op)), x).check();
        }
    }

    @Test
    void maxAndMinSendTheGradientToTheFirstExtreme() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, 0, 2}, 2, 3).requiresGrad(true);
        x.max(1, false).sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0, 1, 0, 0, 0, 1);
        x.zeroGrad();
        x.min(1, false).sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(1, 0, 0, 1, 0, 0);
        x.zeroGrad();
        x.max().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0, 1, 0, 0, 0, 0);
    }

    @Test
    void argmaxGivesTheFirstLargestPositionAsFloatsWithoutGradient() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, 5, 2, 7, 5, 5, 9, 5, 2}, 2, 3, 2).requiresGrad(true);
        Tensor last = x.argmax(-1, false);
        assertThat(last.requiresGrad()).isFalse();
        assertThat(last.shape()).containsExactly(2, 3);
        assertThat(last.toFloatArray()).containsExactly(1, 0, 0, 0, 1, 0);
        Tensor middle = x.argmax(1, true);
        assertThat(middle.shape()).containsExactly(2, 1, 2);
        assertThat(middle.toFloatArray()).containsExactly(2, 0, 0, 1);
    }

    @ParameterizedTest(name = "log={0} dim {1}")
    @CsvSource({"false, 0", "false, 1", "false, -1", "true, 0", "true, 1", "true, 2"})
    void softmaxAndLogSoftmaxOnAnyDimWithGradients(boolean log, int dim) {
        int d = dim < 0 ? dim + SHAPE.length : dim;
        GradCheck.of((log ? "logSoftmax" : "softmax") + " dim " + dim,
                in -> log ? in[0].logSoftmax(dim) : in[0].softmax(dim),
                ref -> mapReference(ref[0], SHAPE, d, log ? ReductionOpsTest::logSoftmax : ReductionOpsTest::softmax),
                GradCheck.input(rng, SHAPE)).check();
    }

    @ParameterizedTest
    @ValueSource(floats = {100f, -100f})
    void softmaxAndLogsumexpAreStableAroundPlusMinusOneHundred(float centre) {
        int[] shape = {2, 70, 3};
        Tensor x = Tensor.randn(rng, shape).add(centre).detach().requiresGrad(true);
        for (int d = 1; d <= 2; d++) {
            int dim = d;
            GradCheck.of("softmax at " + centre, in -> in[0].softmax(dim),
                    ref -> mapReference(ref[0], shape, dim, ReductionOpsTest::softmax), x).check();
            GradCheck.of("logSoftmax at " + centre, in -> in[0].logSoftmax(dim),
                    ref -> mapReference(ref[0], shape, dim, ReductionOpsTest::logSoftmax), x).check();
            GradCheck.of("logsumexp at " + centre, in -> in[0].logsumexp(dim, false),
                    ref -> reduceReference(ref[0], shape, dim, ReductionOpsTest::logsumexp), x).check();
        }
    }

    @Test
    void softmaxOfAFullyMaskedEntryIsZero() {
        Tensor x = Tensor.of(new float[] {0f, Float.NEGATIVE_INFINITY, 1f}, 3);
        float[] y = x.softmax(0).toFloatArray();
        assertThat(y[1]).isEqualTo(0f);
        assertThat(y[0] + y[2]).isCloseTo(1f, within(1e-6f));
    }

    @Test
    void aLineOfMinusInfinityHasZeroSoftmaxAndZeroGradientsNotNaN() {
        // row 0: every entry -∞ (an attention row with every key masked); row 1: ordinary
        float inf = Float.NEGATIVE_INFINITY;
        Tensor x = Tensor.of(new float[] {inf, inf, inf, 0f, 1f, 2f}, 2, 3).requiresGrad(true);
        Tensor y = x.softmax(1);
        Tensor lse = x.logsumexp(1, false);
        assertThat(y.toFloatArray()).startsWith(0f, 0f, 0f);
        assertThat(lse.toFloatArray()[0]).isEqualTo(inf);
        y.mul(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)).sum().add(lse.mul(Tensor.of(new float[] {7, 8}, 2)).sum())
                .backward();
        float[] g = x.grad().toFloatArray();
        assertThat(g).startsWith(0f, 0f, 0f);
        for (float v : g) {
            assertThat(v).isFinite();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, -1})
    void cumsumWithReverseCumsumGradient(int dim) {
        int d = dim < 0 ? dim + SHAPE.length : dim;
        GradCheck.of("cumsum dim " + dim, in -> in[0].cumsum(dim),
                ref -> mapReference(ref[0], SHAPE, d, ReductionOpsTest::cumsum), GradCheck.input(rng, SHAPE)).check();
    }

    @Test
    void errorsNameTheOpTheDimAndTheShape() {
        Tensor x = Tensor.zeros(2, 3);
        assertThatThrownBy(() -> x.softmax(2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("softmax").hasMessageContaining("dim 2").hasMessageContaining("rank 2");
        assertThatThrownBy(() -> x.sum(-3, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sum").hasMessageContaining("dim -3");
        assertThatThrownBy(() -> Tensor.zeros(2, 0).max(1, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max").hasMessageContaining("[2, 0]");
        assertThatThrownBy(() -> Tensor.zeros(0).argmax(0, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("argmax");
    }

    /** Every reduction forward and backward, on shapes big enough to be split between threads. */
    private static float[][] run(ComputeBackend backend, float[] data) {
        Tensor x = Tensor.of(backend, data, 30, 300, 9).requiresGrad(true);
        Tensor rows = x.reshape(900, 90);
        Tensor loss = x.softmax(1).mul(x.logSoftmax(-1)).sum(2, false).logsumexp(0, false).sum()
                .add(x.max(1, false).mean()).add(x.min(0, true).sum()).add(x.cumsum(1).mean())
                .add(rows.softmax(-1).max()).add(rows.sum(0, false).mul(rows.mean(0, false)).sum());
        loss.backward();
        return new float[][] {
            {loss.item()}, x.grad().toFloatArray(), x.argmax(1, false).toFloatArray(), rows.logsumexp(-1, false).toFloatArray()
        };
    }

    @Test
    void resultsAreBitwiseIdenticalOnOneAndTwoThreads() {
        float[] data = Tensor.randn(rng, 30 * 300 * 9).toFloatArray();
        float[][] one = run(new CpuBackend(new Parallel(1), Sgemm.best()), data);
        float[][] two = run(new CpuBackend(new Parallel(2), Sgemm.best()), data);
        for (int k = 0; k < one.length; k++) {
            assertThat(two[k]).containsExactly(one[k]);
        }
    }
}
