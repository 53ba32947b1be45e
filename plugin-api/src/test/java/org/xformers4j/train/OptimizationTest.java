package org.xformers4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import org.junit.jupiter.api.Test;
import org.xformers4j.optim.Adam;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.Optimizer;
import org.xformers4j.optim.Sgd;

/** The optimisation configuration builds what it says and refuses what cannot work, naming the field. */
class OptimizationTest {

    private final Regression.Net net = new Regression(0f).net;

    @Test
    void buildsEachAlgorithmWithItsHyperparameters() {
        Optimizer adamw = Optimization.builder().betas(0.8f, 0.95f).eps(1e-6f).weightDecay(0.1f).build()
                .optimizer(net);
        assertThat(adamw).isInstanceOf(AdamW.class);
        assertThat(((AdamW) adamw).beta2()).isEqualTo(0.95f);
        assertThat(((AdamW) adamw).eps()).isEqualTo(1e-6f);
        assertThat(Optimization.builder().algorithm(Optimization.Algorithm.ADAM).build().optimizer(net))
                .isExactlyInstanceOf(Adam.class);
        Optimizer sgd = Optimization.builder().algorithm(Optimization.Algorithm.SGD).momentum(0.9f, true).build()
                .optimizer(net);
        assertThat(((Sgd) sgd).momentum()).isEqualTo(0.9f);
        assertThat(((Sgd) sgd).nesterov()).isTrue();
    }

    @Test
    void eachScheduleGivesItsRates() {
        LearningRateSchedule cosine = Optimization.builder().learningRate(1f).warmupSteps(2)
                .finalLearningRateFraction(0.1f).build().schedule(12);
        assertThat(cosine.rate(1)).isEqualTo(0.5);
        assertThat(cosine.rate(2)).isEqualTo(1.0);
        assertThat(cosine.rate(3)).isEqualTo(1.0);
        assertThat(cosine.rate(8)).isCloseTo(0.55, org.assertj.core.data.Offset.offset(1e-8));
        LearningRateSchedule constant = Optimization.builder().learningRate(0.5f)
                .schedule(Optimization.Schedule.CONSTANT).build().schedule(100);
        assertThat(constant.rate(1)).isEqualTo(0.5);
        assertThat(constant.rate(100)).isEqualTo(0.5);
        LearningRateSchedule inverseSqrt = Optimization.builder().learningRate(1f)
                .schedule(Optimization.Schedule.INVERSE_SQRT).warmupSteps(4).build().schedule(100);
        assertThat(inverseSqrt.rate(4)).isEqualTo(1.0);
        assertThat(inverseSqrt.rate(16)).isEqualTo(0.5);
    }

    @Test
    void aValueOutsideItsRangeIsRefusedNamingTheField() {
        assertThatThrownBy(() -> Optimization.builder().learningRate(0f).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("learningRate = 0.0 is outside");
        assertThatThrownBy(() -> Optimization.builder().betas(0.9f, 1f).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("beta2 = 1.0 is outside");
        assertThatThrownBy(() -> Optimization.builder().learningRate(Float.NaN).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("learningRate = NaN");
        assertThatThrownBy(() -> Optimization.builder().momentum(0f, true).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("nesterov needs algorithm SGD");
        assertThatThrownBy(() -> Optimization.builder().schedule(Optimization.Schedule.INVERSE_SQRT).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("warmupSteps must be > 0");
        LearningRateSchedule longWarmup = Optimization.builder().learningRate(1f).warmupSteps(10).build().schedule(5);
        assertThat(longWarmup.rate(5)).as("a warm-up longer than the run warms up all the way").isEqualTo(0.5);
    }

    @Test
    void runSettingsAreCheckedToo() {
        assertThatThrownBy(() -> RunSettings.builder().batchSize(0).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("batchSize = 0 is outside");
        assertThatThrownBy(() -> RunSettings.builder().batchSize(4).gradientAccumulation(5).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("empty micro-batches");
        assertThatThrownBy(() -> RunSettings.builder().validationFraction(1f).build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("validationFraction = 1.0 is outside");
        assertThatThrownBy(() -> RunSettings.builder().checkpointDirectory("a\0b").build())
                .isInstanceOf(PropertyException.class).hasMessageContaining("checkpointDirectory");
    }
}
