package org.xformers4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.Tensor;

class LearningRateScheduleTest {

    private static final double EPS = 1e-12;

    @Test
    void constant() {
        LearningRateSchedule s = LearningRateSchedule.constant(0.1);
        assertThat(s.rate(1)).isEqualTo(0.1);
        assertThat(s.rate(1_000_000)).isEqualTo(0.1);
    }

    @Test
    void linearWarmupThenConstant() {
        LearningRateSchedule s = LearningRateSchedule.linearWarmup(1.0, 4);
        assertThat(s.rate(1)).isCloseTo(0.25, within(EPS));
        assertThat(s.rate(2)).isCloseTo(0.5, within(EPS));
        assertThat(s.rate(4)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(5)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(100)).isCloseTo(1.0, within(EPS));
    }

    @Test
    void linearWarmupThenAnotherScheduleRestartedAtItsFirstStep() {
        LearningRateSchedule then = step -> 1.0 / step;
        LearningRateSchedule s = LearningRateSchedule.linearWarmup(2, then);
        assertThat(s.rate(1)).isCloseTo(0.5, within(EPS));
        assertThat(s.rate(2)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(3)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(4)).isCloseTo(0.5, within(EPS));
    }

    @Test
    void cosineDecayFollowsPyTorchCosineAnnealing() {
        LearningRateSchedule s = LearningRateSchedule.cosineDecay(1.0, 0.1, 10);
        assertThat(s.rate(1)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(6)).isCloseTo(0.55, within(EPS)); // halfway: (peak + min) / 2
        assertThat(s.rate(3)).isCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.2)), within(EPS));
        assertThat(s.rate(11)).isCloseTo(0.1, within(EPS));
        assertThat(s.rate(500)).isCloseTo(0.1, within(EPS));
    }

    @Test
    void cosineDecayWithWarmup() {
        LearningRateSchedule s = LearningRateSchedule.cosineDecay(2.0, 0.0, 4, 8);
        assertThat(s.rate(1)).isCloseTo(0.5, within(EPS));
        assertThat(s.rate(4)).isCloseTo(2.0, within(EPS));
        assertThat(s.rate(5)).isCloseTo(2.0, within(EPS));
        assertThat(s.rate(9)).isCloseTo(1.0, within(EPS));
        assertThat(s.rate(13)).isCloseTo(0.0, within(EPS));
        assertThat(LearningRateSchedule.cosineDecay(2.0, 0.0, 0, 8).rate(1)).isCloseTo(2.0, within(EPS));
    }

    @Test
    void inverseSquareRootPeaksAtTheEndOfWarmup() {
        LearningRateSchedule s = LearningRateSchedule.inverseSquareRoot(1e-3, 100);
        assertThat(s.rate(1)).isCloseTo(1e-5, within(EPS));
        assertThat(s.rate(50)).isCloseTo(5e-4, within(EPS));
        assertThat(s.rate(100)).isCloseTo(1e-3, within(EPS));
        assertThat(s.rate(400)).isCloseTo(5e-4, within(EPS));
    }

    @Test
    void vaswaniScheduleAsWrittenInThePaper() {
        int d = 512;
        int warmup = 4000;
        LearningRateSchedule s = LearningRateSchedule.vaswani(d, warmup);
        for (int step : new int[] {1, 100, 3999, 4000, 4001, 100_000}) {
            double paper = Math.pow(d, -0.5) * Math.min(Math.pow(step, -0.5), step * Math.pow(warmup, -1.5));
            assertThat(s.rate(step)).isCloseTo(paper, within(1e-15));
        }
        assertThat(s.rate(4000)).isCloseTo(6.987712429686844e-4, within(1e-15));
    }

    @Test
    void applyToSetsTheRateOfTheNextStep() {
        Tensor p = Tensor.zeros(2).requiresGrad(true);
        Sgd sgd = new Sgd(List.of(p), 1f, 0f, 0f, false, 0f);
        LearningRateSchedule s = LearningRateSchedule.linearWarmup(1.0, 4);
        s.applyTo(sgd);
        assertThat(sgd.learningRate()).isEqualTo(0.25f);
        sgd.step();
        sgd.step();
        s.applyTo(sgd);
        assertThat(sgd.learningRate()).isEqualTo(0.75f);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> LearningRateSchedule.constant(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("constant: rate must be finite and > 0, got 0.0");
        assertThatThrownBy(() -> LearningRateSchedule.linearWarmup(1.0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("warmupSteps");
        assertThatThrownBy(() -> LearningRateSchedule.cosineDecay(1.0, 2.0, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("min").hasMessageContaining("2.0");
        assertThatThrownBy(() -> LearningRateSchedule.cosineDecay(1.0, 0.0, -1, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("warmupSteps must be >= 0, got -1");
        assertThatThrownBy(() -> LearningRateSchedule.vaswani(0, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelDim");
        assertThatThrownBy(() -> LearningRateSchedule.inverseSquareRoot(Double.NaN, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("peak");
    }
}
