package org.xformers4j.tensor;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Checks a differentiable computation against a reference: the forward values, and the analytic
 * gradient of {@code Σ w·op(inputs)} (for fixed random weights {@code w}) against central finite
 * differences of the reference, {@code (f(x + h) - f(x - h)) / 2h} element by element.
 *
 * <p>The reference is usually an independent implementation in double precision, with a small
 * step ({@code h = 1e-6}, the default). It may also be the computation itself run in float32 on
 * the perturbed values (see {@link #float32Reference}), when no independent implementation exists;
 * the step must then be much larger ({@code 1e-2} or so), because float32 rounding of each output
 * (about 6e-8 relative) is divided by {@code 2h}, and the tolerance looser to match.
 *
 * <p>An element passes when {@code |actual - expected| <= tolerance · (1 + |expected|)} for the
 * forward values, and {@code |analytic - numeric| <= tolerance · (1 + max(|numeric|, 0.1·s))} for
 * the gradients, where {@code s} is the largest numeric gradient of that input (so that elements
 * whose gradient nearly cancels are not held to a tighter bound than the input's scale).
 *
 * <p>With {@link #oneSidedAtKinks()}, an element where the function is not differentiable within
 * the step (a ReLU kink, or the jump of a ratio whose denominator vanishes) is recognised by its
 * one-sided differences {@code (f(x + h) - f(x)) / h} and {@code (f(x) - f(x - h)) / h}
 * disagreeing by more than the tolerance; it then also passes when the analytic gradient matches
 * the second-order one-sided difference {@code ±(-3 f(x) + 4 f(x ± h) - f(x ± 2h)) / 2h} of
 * either side: the one of the side that holds no kink within 2h.
 *
 * <pre>{@code
 * GradientCheck.Result r = GradientCheck.of("exp", in -> in[0].exp(),
 *         ref -> Arrays.stream(ref[0]).map(Math::exp).toArray(), x).run();
 * if (!r.passed()) throw new AssertionError(r.detail());
 * }</pre>
 */
public final class GradientCheck {

    /** The computation in double precision: the inputs' values, row-major, to the output's values, row-major. */
    @FunctionalInterface
    public interface Reference {
        double[] apply(double[][] inputs);
    }

    /**
     * What a check found.
     *
     * @param passed     whether every forward value and gradient element was within tolerance
     * @param worstRatio the largest {@code |error| / tolerance} over all checked elements (at most 1
     *                   when passed; infinite for a structural failure such as a missing gradient)
     * @param detail     the worst element with both values, or the structural failure
     */
    public record Result(boolean passed, double worstRatio, String detail) {
    }

    private final String name;
    private final Function<Tensor[], Tensor> op;
    private final Reference reference;
    private final Tensor[] inputs;
    private double forwardTolerance = 1e-4;
    private double gradTolerance = 2e-3;
    private double step = 1e-6;
    private boolean oneSidedAtKinks;

    private GradientCheck(String name, Function<Tensor[], Tensor> op, Reference reference, Tensor[] inputs) {
        this.name = name;
        this.op = op;
        this.reference = reference;
        this.inputs = inputs;
    }

    /** A check of {@code op} on {@code inputs}; gradients are checked for the inputs that require grad. */
    public static GradientCheck of(String name, Function<Tensor[], Tensor> op, Reference reference,
                                   Tensor... inputs) {
        return new GradientCheck(name, op, reference, inputs);
    }

    /**
     * {@code op} itself as the reference: the perturbed values are rounded to float32 tensors of
     * the inputs' shapes and {@code op} runs on them without recording a graph. Use with a larger
     * {@link #step} and looser tolerances (see the class comment).
     */
    public static Reference float32Reference(Function<Tensor[], Tensor> op, Tensor... inputs) {
        return values -> {
            Tensor[] perturbed = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                float[] data = new float[values[i].length];
                for (int e = 0; e < data.length; e++) {
                    data[e] = (float) values[i][e];
                }
                perturbed[i] = Tensor.of(inputs[i].backend(), data, inputs[i].shape());
            }
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                return toDouble(op.apply(perturbed).toFloatArray());
            }
        };
    }

    /** Relative-and-absolute tolerance for the forward values (default 1e-4). */
    public GradientCheck forwardTolerance(double tolerance) {
        this.forwardTolerance = tolerance;
        return this;
    }

    /** Relative-and-absolute tolerance for the gradients (default 2e-3). */
    public GradientCheck gradTolerance(double tolerance) {
        this.gradTolerance = tolerance;
        return this;
    }

    /** Finite-difference step (default 1e-6, for a double-precision reference). */
    public GradientCheck step(double h) {
        this.step = h;
        return this;
    }

    /**
     * Also accepts, where the one-sided differences disagree (a kink or a jump within the step),
     * an analytic gradient that matches the second-order one-sided difference of either side, and
     * counts such an element in the input's gradient scale by the smaller of the two; see the
     * class comment. For float32 references, whose large step makes crossing a kink likely.
     */
    public GradientCheck oneSidedAtKinks() {
        this.oneSidedAtKinks = true;
        return this;
    }

    /**
     * Runs {@code op} forward and backward once, the reference once per checked element and
     * direction, and reports the worst mismatch. The inputs' gradients are reset first.
     */
    public Result run() {
        double[][] values = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            values[i] = toDouble(inputs[i].toFloatArray());
        }
        boolean anyGrad = false;
        for (Tensor in : inputs) {
            in.zeroGrad();
            anyGrad |= in.requiresGrad();
        }
        Tensor out = op.apply(inputs);
        float[] actual = out.toFloatArray();
        double[] expected = reference.apply(copy(values));
        if (actual.length != expected.length) {
            return structural("output has " + actual.length + " elements " + Arrays.toString(out.shape())
                    + ", the reference " + expected.length);
        }
        Worst worst = new Worst();
        for (int j = 0; j < actual.length; j++) {
            double error = Math.abs(actual[j] - expected[j]);
            double ratio = Double.isFinite(expected[j])
                    ? error / (forwardTolerance * (1 + Math.abs(expected[j])))
                    : Double.compare(actual[j], expected[j]) == 0 ? 0 : Double.POSITIVE_INFINITY;
            if (Double.isNaN(ratio)) {
                ratio = Double.POSITIVE_INFINITY;
            }
            if (ratio >= worst.ratio) {
                worst.describe(ratio, "forward element " + j + " is " + actual[j] + ", reference " + expected[j]);
            }
        }
        if (!anyGrad) {
            return worst.result(name);
        }
        if (!out.requiresGrad()) {
            return structural("the output does not require grad");
        }
        SplittableRandom rng = new SplittableRandom(12345);
        double[] weights = new double[actual.length];
        float[] weightsF = new float[actual.length];
        for (int j = 0; j < weights.length; j++) {
            weightsF[j] = (float) rng.nextDouble(-1, 1);
            weights[j] = weightsF[j];
        }
        out.backward(Tensor.of(out.backend(), weightsF, out.shape()));
        for (int i = 0; i < inputs.length; i++) {
            if (!inputs[i].requiresGrad()) {
                continue;
            }
            if (inputs[i].grad() == null) {
                return structural("input " + i + " " + Arrays.toString(inputs[i].shape()) + " got no gradient");
            }
            float[] analytic = inputs[i].grad().toFloatArray();
            Differences[] numeric = new Differences[values[i].length];
            double scale = 0;
            for (int e = 0; e < numeric.length; e++) {
                numeric[e] = numericGradient(values, weights, expected, i, e);
                scale = Math.max(scale, numeric[e].magnitude());
            }
            for (int e = 0; e < numeric.length; e++) {
                Differences d = numeric[e];
                double ratio = errorRatio(analytic[e], d.central(), scale);
                if (d.kink()) {
                    ratio = Math.min(ratio, Math.min(errorRatio(analytic[e], d.forward(), scale),
                            errorRatio(analytic[e], d.backward(), scale)));
                }
                if (ratio >= worst.ratio) {
                    worst.describe(ratio, "d/d input " + i + " element " + e + " is " + analytic[e]
                            + ", finite difference of the reference " + d.central() + (d.kink() ? " (one-sided "
                            + d.forward() + " and " + d.backward() + ": a kink within the step)" : ""));
                }
            }
        }
        return worst.result(name);
    }

    private Result structural(String problem) {
        return new Result(false, Double.POSITIVE_INFINITY, name + ": " + problem);
    }

    /** |analytic - numeric| over the tolerance at {@code numeric}, for an input of gradient scale {@code scale}; NaN: infinite. */
    private double errorRatio(double analytic, double numeric, double scale) {
        double tolerance = gradTolerance * (1 + Math.max(Math.abs(numeric), 0.1 * scale));
        double ratio = Math.abs(analytic - numeric) / tolerance;
        return Double.isNaN(ratio) ? Double.POSITIVE_INFINITY : ratio;
    }

    /**
     * The finite differences of {@code Σ w·f} in one element: central and, where (with
     * {@link #oneSidedAtKinks()}) the first-order one-sided ones disagree beyond the tolerance
     * ({@code kink}), the second-order one-sided ones, forward and backward (else 0).
     */
    private record Differences(double central, double forward, double backward, boolean kink) {

        /** What the element contributes to its input's gradient scale: the smaller one-sided difference at a kink. */
        double magnitude() {
            return kink ? Math.min(Math.abs(forward), Math.abs(backward)) : Math.abs(central);
        }
    }

    private Differences numericGradient(double[][] values, double[] weights, double[] base, int input, int element) {
        double[][] plus = copy(values);
        double[][] minus = copy(values);
        plus[input][element] += step;
        minus[input][element] -= step;
        double[] fp = reference.apply(plus);
        double[] fm = reference.apply(minus);
        double central = weightedDifference(weights, fp, fm) / (2 * step);
        if (!oneSidedAtKinks) {
            return new Differences(central, 0, 0, false);
        }
        double up = weightedDifference(weights, fp, base);
        double down = weightedDifference(weights, base, fm);
        double agreement = gradTolerance * (1 + Math.min(Math.abs(up), Math.abs(down)) / step);
        if (Math.abs(up - down) / step <= agreement) {
            return new Differences(central, 0, 0, false);
        }
        // second order on each side: ±(-3 f(x) + 4 f(x ± h) - f(x ± 2h)) / 2h = (4 up - up2) / 2h, (4 down - down2) / 2h
        plus[input][element] += step;
        minus[input][element] -= step;
        double up2 = weightedDifference(weights, reference.apply(plus), base);
        double down2 = weightedDifference(weights, base, reference.apply(minus));
        return new Differences(central, (4 * up - up2) / (2 * step), (4 * down - down2) / (2 * step), true);
    }

    /** Σ_j w_j (a_j - b_j). */
    private static double weightedDifference(double[] weights, double[] a, double[] b) {
        double sum = 0;
        for (int j = 0; j < weights.length; j++) {
            sum += weights[j] * (a[j] - b[j]);
        }
        return sum;
    }

    /** The largest error ratio seen so far and what it was. */
    private static final class Worst {
        private double ratio;
        private String detail = "no elements";

        void describe(double r, String what) {
            ratio = r;
            detail = what;
        }

        Result result(String name) {
            return new Result(ratio <= 1, ratio, name + ": " + (ratio <= 1 ? "worst " : "") + detail
                    + String.format(java.util.Locale.ROOT, " (%.3g of the tolerance)", ratio));
        }
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
