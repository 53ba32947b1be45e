package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * {@link GradientCheck} as an assertion: fails the test with the worst mismatch (the op name, the
 * input, the element and both values).
 *
 * <pre>{@code
 * GradCheck.of("exp", in -> in[0].exp(), ref -> Arrays.stream(ref[0]).map(Math::exp).toArray(),
 *         GradCheck.input(rng, 3, 4)).check();
 * }</pre>
 */
public final class GradCheck {

    private final GradientCheck check;

    private GradCheck(GradientCheck check) {
        this.check = check;
    }

    /**
     * A check of {@code op} on {@code inputs} against {@code reference}, the op in double precision;
     * gradients are checked for inputs that require grad.
     */
    public static GradCheck of(String name, Function<Tensor[], Tensor> op, GradientCheck.Reference reference,
                               Tensor... inputs) {
        return new GradCheck(GradientCheck.of(name, op, reference, inputs));
    }

    /** A standard-normal leaf that requires grad. */
    public static Tensor input(SplittableRandom rng, int... shape) {
        return Tensor.randn(rng, shape).requiresGrad(true);
    }

    /** Relative-and-absolute tolerance for the forward values (default 1e-4). */
    public GradCheck forwardTolerance(double tolerance) {
        check.forwardTolerance(tolerance);
        return this;
    }

    /** Relative-and-absolute tolerance for the gradients (default 2e-3). */
    public GradCheck gradTolerance(double tolerance) {
        check.gradTolerance(tolerance);
        return this;
    }

    /** Finite-difference step in double precision (default 1e-6). */
    public GradCheck step(double h) {
        check.step(h);
        return this;
    }

    /** Runs the check and fails with the worst mismatch. */
    public void check() {
        GradientCheck.Result result = check.run();
        assertThat(result.passed()).as(result.detail()).isTrue();
    }
}
