package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GradientCheckTest {

    private final SplittableRandom rng = new SplittableRandom(3);

    @Test
    void correctOpPassesWithItsWorstElementWithinTolerance() {
        Tensor x = Tensor.randn(rng, 3, 4).requiresGrad(true);
        GradientCheck.Result r = GradientCheck.of("exp", in -> in[0].exp(),
                ref -> Arrays.stream(ref[0]).map(Math::exp).toArray(), x).run();
        assertThat(r.passed()).as(r.detail()).isTrue();
        assertThat(r.worstRatio()).isBetween(0.0, 1.0);
        assertThat(r.detail()).startsWith("exp: worst ");
    }

    @Test
    void wrongForwardFailsNamingTheElementAndBothValues() {
        Tensor x = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        GradientCheck.Result r = GradientCheck.of("twice", in -> in[0].mul(2f),
                ref -> Arrays.stream(ref[0]).map(v -> v == 2 ? 5 : 2 * v).toArray(), x).run();
        assertThat(r.passed()).isFalse();
        assertThat(r.detail()).startsWith("twice: forward element 1 is 4.0, reference 5.0");
    }

    @Test
    void wrongGradientFailsAgainstTheFiniteDifferences() {
        Tensor x = Tensor.randn(rng, 5).requiresGrad(true);
        // the op is x^2 but the reference says x^3: forward checked loosely, gradients differ
        GradientCheck.Result r = GradientCheck.of("square", in -> in[0].mul(in[0]),
                ref -> Arrays.stream(ref[0]).map(v -> v * v * v).toArray(), x).forwardTolerance(1e9).run();
        assertThat(r.passed()).isFalse();
        assertThat(r.detail()).contains("d/d input 0 element").contains("finite difference of the reference");
    }

    @Test
    void inputWithoutGradientIsAStructuralFailure() {
        Tensor used = Tensor.randn(rng, 2).requiresGrad(true);
        Tensor unused = Tensor.randn(rng, 2).requiresGrad(true);
        GradientCheck.Result r = GradientCheck.of("first", in -> in[0].mul(1f), ref -> ref[0].clone(), used, unused)
                .run();
        assertThat(r.passed()).isFalse();
        assertThat(r.worstRatio()).isInfinite();
        assertThat(r.detail()).isEqualTo("first: input 1 [2] got no gradient");
    }

    /**
     * x + [x &gt; 0], gradient 1 except at its jump at 0, checked at 0.004 (the jump within a step of
     * 0.01), -2 and 1.5, against an op whose gradient is {@code slope} everywhere.
     */
    private static GradientCheck stepFunction(float slope) {
        Tensor x = Tensor.of(new float[] {0.004f, -2f, 1.5f}, 3).requiresGrad(true);
        return GradientCheck.of("jump", in -> in[0].mul(slope),
                ref -> Arrays.stream(ref[0]).map(v -> v + (v > 0 ? 1 : 0)).toArray(), x)
                .forwardTolerance(1e9).step(1e-2).gradTolerance(1e-2);
    }

    @Test
    void aJumpWithinTheStepFailsTheCentralDifference() {
        GradientCheck.Result r = stepFunction(1f).run();
        assertThat(r.passed()).isFalse();
        assertThat(r.detail()).contains("d/d input 0 element 0 is").doesNotContain("kink");
    }

    @Test
    void oneSidedAtKinksAcceptsTheSideWithoutTheJumpAndNothingElse() {
        GradientCheck.Result r = stepFunction(1f).oneSidedAtKinks().run();
        assertThat(r.passed()).as(r.detail()).isTrue();
        assertThat(stepFunction(1.5f).oneSidedAtKinks().run().passed()).isFalse();
        Tensor x = Tensor.randn(rng, 5).requiresGrad(true);
        GradientCheck.Result smooth = GradientCheck.of("square", in -> in[0].mul(in[0]),
                ref -> Arrays.stream(ref[0]).map(v -> v * v * v).toArray(), x).forwardTolerance(1e9)
                .oneSidedAtKinks().run();
        assertThat(smooth.passed()).as("a wrong gradient where the function is smooth").isFalse();
        GradientCheck.Result atKink = GradientCheck.of("relu", in -> in[0].relu().mul(3f),
                ref -> Arrays.stream(ref[0]).map(v -> Math.max(v, 0)).toArray(),
                Tensor.of(new float[] {0.004f}, 1).requiresGrad(true)).forwardTolerance(1e9).step(1e-2)
                .gradTolerance(1e-2).oneSidedAtKinks().run();
        assertThat(atKink.passed()).as("a gradient matching neither side of a kink").isFalse();
        assertThat(atKink.detail()).contains("a kink within the step");
    }

    @Test
    void float32ReferenceWithALargerStepChecksAnOpAgainstItself() {
        Tensor x = Tensor.randn(rng, 4, 3).requiresGrad(true);
        java.util.function.Function<Tensor[], Tensor> op = in -> in[0].softmax(-1);
        GradientCheck.Result r = GradientCheck.of("softmax", op, GradientCheck.float32Reference(op, x), x)
                .step(1e-2).gradTolerance(1e-2).run();
        assertThat(r.passed()).as(r.detail()).isTrue();
    }
}
