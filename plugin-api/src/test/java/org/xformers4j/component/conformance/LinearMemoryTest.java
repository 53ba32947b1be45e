package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

/**
 * {@code linear-memory} passes a mechanism whose buffers grow with the length and fails one that
 * declares linear memory but forms the N×N score matrix.
 */
class LinearMemoryTest {

    /** Each query's output is the mean of the values: [B, H, 1, Dv] of state, linear memory. */
    @ComponentInfo(name = "mean-value", summary = "Outputs the mean of the values.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(N)", linearMemory = true)
    public static final class MeanValue implements AttentionMechanism {
        private MeanValue() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return query.mul(0f).add(value.sum(2, true).mul(1f / value.size(2)));
        }
    }

    /** Softmax attention with the [N, N] scores materialised, declaring linear memory all the same. */
    @ComponentInfo(name = "quadratic", summary = "Full attention claiming linear memory.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N)", linearMemory = true)
    public static final class Quadratic implements AttentionMechanism {
        private Quadratic() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return query.mul((float) (1 / Math.sqrt(query.size(3)))).matmul(key, false, true).softmax(-1)
                    .matmul(value);
        }
    }

    /** The mean of the values without a causal context; with one, the N×N scores (causal masking left out: memory is the point). */
    @ComponentInfo(name = "quadratic-when-causal", summary = "Linear, but quadratic when causal.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N)", linearMemory = true)
    public static final class QuadraticWhenCausal implements AttentionMechanism {
        private QuadraticWhenCausal() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return context.causal() ? query.matmul(key, false, true).softmax(-1).matmul(value)
                    : query.mul(0f).add(value.sum(2, true).mul(1f / value.size(2)));
        }
    }

    @Test
    void buffersThatGrowWithTheLengthPass() {
        CheckResult result = SingleCheck.result("linear-memory", MeanValue.class);
        assertThat(result.passed()).as(result.detail()).isTrue();
        assertThat(result.detail()).startsWith("bytes allocated by forward + backward: N=1024 ").contains(", N=4096 ")
                .doesNotContain("causal");
    }

    @Test
    void anNxNScoreMatrixFailsWithItsGrowth() {
        CheckResult result = SingleCheck.result("linear-memory", Quadratic.class);
        assertThat(result.passed()).isFalse();
        // the scores, the weights and their gradients dominate: close to 16 times
        double growth = Double.parseDouble(result.detail().replaceAll(".* MiB, ([0-9.]+)x .*", "$1"));
        assertThat(growth).as(result.detail()).isGreaterThan(12);
    }

    @Test
    void aCausalContextIsMeasuredAsWellWhenDeclared() {
        CheckResult result = SingleCheck.result("linear-memory", QuadraticWhenCausal.class);
        assertThat(result.passed()).isFalse();
        assertThat(result.detail()).matches("bytes allocated by forward \\+ backward: N=1024 .* MiB, [0-9.]+x; "
                + "causal: N=1024 .* MiB, [0-9.]+x \\(at most 6x for 4x the length; quadratic is 16x\\)");
    }

    @Test
    void mechanismsThatDoNotDeclareLinearMemoryAreNotSubjectToIt() {
        assertThat(AttentionConformance.run(new AttentionConformanceTest.LeakyProvider()))
                .extracting(CheckResult::check).doesNotContain("linear-memory");
    }
}
