package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Checks an op against an independent float64 reference: the forward values, and the analytic
 * gradient of Σ w·op(inputs) for random weights w against central finite differences of the
 * reference computed in double precision.
 *
 * <pre>{@code
 * GradCheck.of("exp", in -> in[0].exp(), ref -> Arrays.stream(ref[0]).map(Math::exp).toArray(),
 *         GradCheck.input(rng, 3, 4)).check();
 * }</pre>
 */
public final class GradCheck {

    /** The op in double precision: the inputs' values, row-major, to the output's values, row-major. */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    private final String name;
    private final Function<Tensor[], Tensor> op;
    private final Reference reference;
    private final Tensor[] inputs;
    private double forwardTolerance = 1e-4;
    private double gradTolerance = 2e-3;
    private double step = 1e-6;

    private GradCheck(String name, Function<Tensor[], Tensor> op, Reference reference, Tensor[] inputs) {
        this.name = name;
        this.op = op;
        this.reference = reference;
        this.inputs = inputs;
    }

    /** A check of {@code op} on {@code inputs}; gradients are checked for inputs that require grad. */
    public static GradCheck of(String name, Function<Tensor[], Tensor> op, Reference reference, Tensor... inputs) {
        return new GradCheck(name, op, reference, inputs);
    }

    /** A standard-normal leaf that requires grad. */
    public static Tensor input(SplittableRandom rng, int... shape) {
        return Tensor.randn(rng, shape).requiresGrad(true);
    }

    /** Relative-and-absolute tolerance for the forward values (default 1e-4). */
    public GradCheck forwardTolerance(double tolerance) {
        this.forwardTolerance = tolerance;
        return this;
    }

    /** Relative-and-absolute tolerance for the gradients (default 2e-3). */
    public GradCheck gradTolerance(double tolerance) {
        this.gradTolerance = tolerance;
        return this;
    }

    /** Finite-difference step in double precision (default 1e-6). */
    public GradCheck step(double h) {
        this.step = h;
        return this;
    }

    /** Runs the check and fails with the op name, input, element and both values on a mismatch. */
    public void check() {
        double[][] values = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            values[i] = toDouble(inputs[i].toFloatArray());
        }
        Tensor out = op.apply(inputs);
        float[] actual = out.toFloatArray();
        double[] expected = reference.apply(copy(values));
        assertThat(actual.length).as("%s: output size", name).isEqualTo(expected.length);
        for (int j = 0; j < actual.length; j++) {
            if (!close(actual[j], expected[j], forwardTolerance)) {
                fail("%s: forward element %d is %s, float64 reference %s", name, j, actual[j], expected[j]);
            }
        }
        SplittableRandom rng = new SplittableRandom(12345);
        double[] weights = new double[actual.length];
        float[] weightsF = new float[actual.length];
        for (int j = 0; j < weights.length; j++) {
            weightsF[j] = (float) rng.nextDouble(-1, 1);
            weights[j] = weightsF[j];
        }
        boolean anyGrad = false;
        for (Tensor in : inputs) {
            in.zeroGrad();
            anyGrad |= in.requiresGrad();
        }
        if (!anyGrad) {
            return;
        }
        assertThat(out.requiresGrad()).as("%s: output requires grad", name).isTrue();
        out.backward(Tensor.of(out.backend(), weightsF, out.shape()));
        for (int i = 0; i < inputs.length; i++) {
            if (!inputs[i].requiresGrad()) {
                continue;
            }
            assertThat(inputs[i].grad()).as("%s: gradient of input %d", name, i).isNotNull();
            float[] analytic = inputs[i].grad().toFloatArray();
            double scale = 0;
            double[] numeric = new double[values[i].length];
            for (int e = 0; e < values[i].length; e++) {
                numeric[e] = numericGradient(values, weights, i, e);
                scale = Math.max(scale, Math.abs(numeric[e]));
            }
            for (int e = 0; e < numeric.length; e++) {
                double tol = gradTolerance * (1 + Math.max(Math.abs(numeric[e]), 0.1 * scale));
                if (Math.abs(analytic[e] - numeric[e]) > tol) {
                    fail("%s: d/d input %d element %d is %s, finite difference of the float64 reference %s",
                            name, i, e, analytic[e], numeric[e]);
                }
            }
        }
    }

    private double numericGradient(double[][] values, double[] weights, int input, int element) {
        double[][] plus = copy(values);
        double[][] minus = copy(values);
        plus[input][element] += step;
        minus[input][element] -= step;
        double[] fp = reference.apply(plus);
        double[] fm = reference.apply(minus);
        double sum = 0;
        for (int j = 0; j < weights.length; j++) {
            sum += weights[j] * (fp[j] - fm[j]);
        }
        return sum / (2 * step);
    }

    private static boolean close(double actual, double expected, double tolerance) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            return Double.compare(actual, expected) == 0;
        }
        return Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected));
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static double[][] copy(double[][] values) {
        double[][] out = new double[values.length][];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i].clone();
        }
        return out;
    }
}
