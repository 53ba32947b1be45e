package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xformers4j.tensor.Tensor;

/** The body JMH times (not timed here): a training step updates every parameter and counts its tokens. */
class TrainingStepBenchmarkTest {

    private static TrainingStepBenchmark state(String model) {
        TrainingStepBenchmark bench = new TrainingStepBenchmark();
        bench.model = model;
        bench.setUp();
        return bench;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lm", "digits"})
    void aStepUpdatesEveryParameterAndCountsItsTokens(String model) {
        TrainingStepBenchmark bench = state(model);
        List<Tensor> parameters = bench.parameters();
        List<float[]> before = parameters.stream().map(Tensor::toFloatArray).toList();
        TrainingStepBenchmark.Tokens counter = new TrainingStepBenchmark.Tokens();

        float loss = bench.step(counter);

        assertThat(loss).as("a finite cross-entropy").isFinite().isPositive();
        assertThat(counter.tokens).isEqualTo(model.equals("lm") ? 32 * 128 : 32 * 16);
        for (int i = 0; i < parameters.size(); i++) {
            assertThat(parameters.get(i).toFloatArray()).as("parameter %d after the update", i)
                    .isNotEqualTo(before.get(i));
            assertThat(parameters.get(i).grad()).as("gradients zeroed after the update").satisfiesAnyOf(
                    g -> assertThat(g).isNull(),
                    g -> assertThat(g.toFloatArray()).containsOnly(0f));
        }
    }

    @Test
    void anUnknownModelIsRefused() {
        assertThatThrownBy(() -> state("gpt4")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model must be lm or digits, got gpt4");
    }
}
