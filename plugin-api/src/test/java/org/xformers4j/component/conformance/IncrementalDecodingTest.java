package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.nn.TestLinearAttention;
import org.xformers4j.nn.TestSoftmaxAttention;
import org.xformers4j.tensor.Tensor;

/**
 * {@code incremental-decoding} passes a recurrent state of fixed size and fails one that grows with
 * the positions, which the cache refuses to keep.
 */
class IncrementalDecodingTest {

    /** Softmax attention posing as recurrent: its "state" is every key and value so far, correct but growing. */
    @ComponentInfo(name = "growing-state", summary = "A KV cache passed off as a recurrent state.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class GrowingState implements RecurrentAttention {

        private GrowingState() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return new TestSoftmaxAttention().forward(query, key, value, context);
        }

        @Override
        public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
            Tensor keys = state == null ? key : Tensor.concat(2, state.get(0), key);
            Tensor values = state == null ? value : Tensor.concat(2, state.get(1), value);
            return new Step(forward(query, keys, values, context), List.of(keys, values));
        }
    }

    private static <T extends AttentionMechanism> CheckResult result(Class<T> type) {
        ComponentProvider<T> provider = new ConfigurableComponentProvider<>(type) {
        };
        return AttentionConformance.run(provider).stream().filter(r -> r.check().equals("incremental-decoding"))
                .findFirst().orElseThrow();
    }

    @Test
    void aStateThatGrowsWithThePositionsFails() {
        CheckResult growing = result(GrowingState.class);
        assertThat(growing.passed()).isFalse();
        assertThat(growing.detail()).contains("do not continue the cached state tensor 0")
                .contains("keeps the shape of every tensor from step to step");
    }

    @Test
    void aRecurrentStateOfFixedSizePasses() {
        CheckResult fixed = result(TestLinearAttention.class);
        assertThat(fixed.passed()).as(fixed.detail()).isTrue();
    }
}
