package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.UnaryOp;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

class ElementwiseOpsTest {

    private static final float P = 1.7f;

    private final SplittableRandom rng = new SplittableRandom(11);

    /** erf(z) = 2/√π Σ (-1)^k z^(2k+1) / (k! (2k+1)), accurate in double for |z| &lt; 3. */
    private static double erf(double z) {
        double sum = 0;
        double power = z;
        for (int k = 0; k < 80; k++) {
            sum += power / (2 * k + 1);
            power *= -z * z / (k + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** The tensor method behind each op, with parameter {@link #P} (0.8 for ELU). */
    private static UnaryOperator<Tensor> method(UnaryOp op) {
        switch (op) {
            case NEG: return Tensor::neg;
            case ADD_SCALAR: return x -> x.add(P);
            case MUL_SCALAR: return x -> x.mul(P);
            case RSUB_SCALAR: return x -> x.rsub(P);
            case RDIV_SCALAR: return x -> x.rdiv(P);
            case POW: return x -> x.pow(P);
            case EXP: return Tensor::exp;
            case LOG: return Tensor::log;
            case SQRT: return Tensor::sqrt;
            case RSQRT: return Tensor::rsqrt;
            case ABS: return Tensor::abs;
            case TANH: return Tensor::tanh;
            case SIGMOID: return Tensor::sigmoid;
            case RELU: return Tensor::relu;
            case GELU_ERF: return x -> x.gelu(false);
            case GELU_TANH: return x -> x.gelu(true);
            case SILU: return Tensor::silu;
            case ELU: return x -> x.elu(0.8f);
            case SOFTPLUS: return Tensor::softplus;
            default: throw new AssertionError(op);
        }
    }

    /** Each op written from its definition in double precision. */
    private static DoubleUnaryOperator reference(UnaryOp op) {
        switch (op) {
            case NEG: return x -> -x;
            case ADD_SCALAR: return x -> x + P;
            case MUL_SCALAR: return x -> x * P;
            case RSUB_SCALAR: return x -> P - x;
            case RDIV_SCALAR: return x -> P / x;
            case POW: return x -> Math.pow(x, P);
            case EXP: return Math::exp;
            case LOG: return Math::log;
            case SQRT: return Math::sqrt;
            case RSQRT: return x -> 1 / Math.sqrt(x);
            case ABS: return Math::abs;
            case TANH: return Math::tanh;
            case SIGMOID: return ElementwiseOpsTest::sigmoid;
            case RELU: return x -> x > 0 ? x : 0;
            case GELU_ERF: return x -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH: return x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case SILU: return x -> x * sigmoid(x);
            case ELU: return x -> x > 0 ? x : 0.8 * (Math.exp(x) - 1);
            case SOFTPLUS: return x -> Math.log(1 + Math.exp(x));
            default: throw new AssertionError(op);
        }
    }

    /** Standard normal values kept 0.3 away from 0 (the kinks of relu, abs, elu), positive where the op needs it. */
    private Tensor input(UnaryOp op, int... shape) {
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.POW
                || op == UnaryOp.RDIV_SCALAR;
        float[] data = new float[Shape.numel(shape)];
        for (int i = 0; i < data.length; i++) {
            double v = rng.nextGaussian();
            v = Math.copySign(Math.abs(v) + 0.3, positive ? 1 : v);
            data[i] = (float) v;
        }
        return Tensor.of(data, shape).requiresGrad(true);
    }

    private static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = f.applyAsDouble(x[i]);
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpsMatchTheirDefinitionWithGradients(UnaryOp op) {
        DoubleUnaryOperator f = reference(op);
        GradCheck.of(op.name(), in -> method(op).apply(in[0]), ref -> map(ref[0], f), input(op, 3, 5)).check();
    }

    @Test
    void unaryRecordsTheOpName() {
        assertThat(input(UnaryOp.EXP, 2).exp().gradFnName()).isEqualTo("exp");
        assertThat(input(UnaryOp.EXP, 2).gelu().gradFnName()).isEqualTo("gelu_erf");
    }

    @Test
    void softplusSigmoidAndSiluAreStableForLargeInputs() {
        Tensor x = Tensor.of(new float[] {-100f, -20f, 20f, 100f}, 4).requiresGrad(true);
        assertThat(x.softplus().toFloatArray()).containsExactly((float) Math.exp(-100), (float) Math.exp(-20), 20f, 100f);
        assertThat(x.sigmoid().toFloatArray()).containsExactly((float) Math.exp(-100), (float) sigmoid(-20), 1f, 1f);
        x.softplus().sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly((float) Math.exp(-100), (float) sigmoid(-20), 1f, 1f);
    }

    private static DoubleBinaryOperator reference(BinaryOp op) {
        switch (op) {
            case ADD: return Double::sum;
            case SUB: return (a, b) -> a - b;
            case MUL: return (a, b) -> a * b;
            case DIV: return (a, b) -> a / b;
            case MAXIMUM: return Math::max;
            case MINIMUM: return Math::min;
            case EQ: return (a, b) -> a == b ? 1 : 0;
            case GT: return (a, b) -> a > b ? 1 : 0;
            case LT: return (a, b) -> a < b ? 1 : 0;
            default: throw new AssertionError(op);
        }
    }

    private static Tensor apply(BinaryOp op, Tensor a, Tensor b) {
        switch (op) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case MAXIMUM: return a.maximum(b);
            case MINIMUM: return a.minimum(b);
            case EQ: return a.eq(b);
            case GT: return a.gt(b);
            case LT: return a.lt(b);
            default: throw new AssertionError(op);
        }
    }

    /** Index of the element of an operand of shape {@code s} that broadcasting reads for output index {@code flat}. */
    private static int source(int flat, int[] out, int[] s) {
        int index = 0;
        int stride = 1;
        for (int d = out.length - 1, e = s.length - 1; d >= 0; d--, e--) {
            int i = flat % out[d];
            flat /= out[d];
            if (e >= 0) {
                index += (s[e] == 1 ? 0 : i) * stride;
                stride *= s[e];
            }
        }
        return index;
    }

    private static double[] broadcastReference(int[] aShape, double[] a, int[] bShape, double[] b, DoubleBinaryOperator f) {
        int[] out = Shape.broadcast("ref", aShape, bShape);
        double[] y = new double[Shape.numel(out)];
        for (int i = 0; i < y.length; i++) {
            y[i] = f.applyAsDouble(a[source(i, out, aShape)], b[source(i, out, bShape)]);
        }
        return y;
    }

    private static int[] parse(String shape) {
        return shape.isEmpty() ? new int[0] : java.util.Arrays.stream(shape.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    @ParameterizedTest(name = "{0} {1} with {2}")
    @CsvSource({
        "ADD, '2,3,4', '4'", "ADD, '4', '2,3,4'", "ADD, '2,1,4', '3,1'",
        "SUB, '2,3,4', '3,1'", "SUB, '1,4', '2,3,4'", "SUB, '3,4', '3,4'",
        "MUL, '2,3,4', '4'", "MUL, '3,1', '2,3,4'", "MUL, '2,1,4', '3,1'",
        "DIV, '2,3,4', '3,1'", "DIV, '4', '2,3,4'", "DIV, '', '3,4'",
        "MAXIMUM, '2,3,4', '4'", "MAXIMUM, '3,1', '2,3,4'",
        "MINIMUM, '2,3,4', '1,3,1'", "MINIMUM, '4', '2,3,4'"
    })
    void binaryOpsBroadcastBothWaysWithGradients(BinaryOp op, String aShape, String bShape) {
        int[] as = parse(aShape);
        int[] bs = parse(bShape);
        Tensor a = GradCheck.input(rng, as);
        // divisors kept away from 0
        Tensor b = op == BinaryOp.DIV ? input(UnaryOp.RDIV_SCALAR, bs)
                : GradCheck.input(rng, bs);
        GradCheck.of(op + " " + aShape + " " + bShape, in -> apply(op, in[0], in[1]),
                ref -> broadcastReference(as, ref[0], bs, ref[1], reference(op)), a, b).check();
    }

    @ParameterizedTest
    @EnumSource(value = BinaryOp.class, names = {"EQ", "GT", "LT"})
    void comparisonsBroadcastAndAreNotDifferentiable(BinaryOp op) {
        float[] av = {0, 1, 2, 3, 1, 1};
        float[] bv = {1, 2};
        Tensor a = Tensor.of(av, 3, 2).requiresGrad(true);
        Tensor b = Tensor.of(bv, 2).requiresGrad(true);
        Tensor out = apply(op, a, b);
        assertThat(out.requiresGrad()).isFalse();
        double[] expected = broadcastReference(new int[] {3, 2}, new double[] {0, 1, 2, 3, 1, 1}, new int[] {2},
                new double[] {1, 2}, reference(op));
        float[] actual = out.toFloatArray();
        for (int i = 0; i < actual.length; i++) {
            assertThat((double) actual[i]).isEqualTo(expected[i]);
        }
    }

    @Test
    void maximumSendsTiesToTheFirstOperand() {
        Tensor a = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {1, 3}, 2).requiresGrad(true);
        a.maximum(b).sum().backward();
        assertThat(a.grad().toFloatArray()).containsExactly(1f, 0f);
        assertThat(b.grad().toFloatArray()).containsExactly(0f, 1f);
    }

    @Test
    void binaryShapeErrorsNameTheOpAndShapes() {
        assertThatThrownBy(() -> Tensor.zeros(2, 3).mul(Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mul").hasMessageContaining("[2, 3]").hasMessageContaining("[4]");
    }

    @Test
    void whereBroadcastsAllThreeWithGradientsToBothBranches() {
        float[] cond = {1, 0, 1};
        Tensor c = Tensor.of(cond, 3, 1);
        GradCheck.of("where", in -> Tensor.where(c, in[0], in[1]), ref -> {
            double[] out = new double[3 * 4];
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    out[i * 4 + j] = cond[i] != 0 ? ref[0][i * 4 + j] : ref[1][j];
                }
            }
            return out;
        }, GradCheck.input(rng, 3, 4), GradCheck.input(rng, 4)).check();
        assertThatThrownBy(() -> Tensor.where(Tensor.zeros(2), Tensor.zeros(3), Tensor.zeros(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("where").hasMessageContaining("[2]");
    }

    @Test
    void maskedFillBroadcastsTheMaskAndPassesGradientWhereItIsZero() {
        float[] mask = {0, 1, 0};
        Tensor m = Tensor.of(mask, 3, 1);
        GradCheck.of("maskedFill", in -> in[0].maskedFill(m, -7f), ref -> {
            double[] out = ref[0].clone();
            for (int b = 0; b < 2; b++) {
                for (int j = 0; j < 4; j++) {
                    out[b * 12 + 4 + j] = -7;
                }
            }
            return out;
        }, GradCheck.input(rng, 2, 3, 4)).check();
        assertThatThrownBy(() -> Tensor.zeros(3, 4).maskedFill(Tensor.zeros(2, 3, 4), 0f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maskedFill").hasMessageContaining("[2, 3, 4]").hasMessageContaining("[3, 4]");
    }

    /** A forward and backward through every kind of elementwise op on one backend. */
    private static float[][] run(ComputeBackend backend, float[] xv, float[] rowv) {
        Tensor x = Tensor.of(backend, xv, 300, 257).requiresGrad(true);
        Tensor row = Tensor.of(backend, rowv, 257).requiresGrad(true);
        Tensor y = x.gelu().mul(row).add(x.sigmoid()).div(row.abs().add(1f)).maximum(x.exp().mul(0.1f))
                .maskedFill(row.gt(Tensor.zeros(backend, 1)), 0.5f);
        y.backward(y.exp());
        return new float[][] {y.toFloatArray(), x.grad().toFloatArray(), row.grad().toFloatArray()};
    }

    @Test
    void resultsAreBitwiseIdenticalOnOneAndTwoThreads() {
        float[] xv = Tensor.randn(rng, 300 * 257).toFloatArray();
        float[] rowv = Tensor.randn(rng, 257).toFloatArray();
        float[][] one = run(new CpuBackend(new Parallel(1), Sgemm.best()), xv, rowv);
        float[][] two = run(new CpuBackend(new Parallel(2), Sgemm.best()), xv, rowv);
        for (int k = 0; k < one.length; k++) {
            assertThat(two[k]).containsExactly(one[k]);
        }
    }
}
