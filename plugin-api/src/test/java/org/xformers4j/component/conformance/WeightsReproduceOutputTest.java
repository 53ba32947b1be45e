package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.nn.TestSoftmaxAttention;
import org.xformers4j.tensor.Tensor;

/**
 * {@code weights-reproduce-output} passes exact softmax attention that reports its own weights, and
 * catches weights that are not the ones applied, that do not sum to 1, or that record a graph.
 */
class WeightsReproduceOutputTest {

    private static final String CHECK = "weights-reproduce-output";

    /** Softmax attention whose reported weights a subclass may get wrong. */
    abstract static class Reporting implements WeightedAttention {
        final TestSoftmaxAttention exact = new TestSoftmaxAttention();

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return exact.forward(query, key, value, context);
        }
    }

    /** Reports the weights without the context's bias. */
    @ComponentInfo(name = "forgets-bias", summary = "Reports weights without the bias.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class ForgetsBias extends Reporting {
        private ForgetsBias() {
        }

        @Override
        public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
            return exact.attentionWeights(query, key, context.toBuilder().bias(null).build());
        }
    }

    /** Outputs and reports twice the softmax: Σ w·v equals the output, but rows sum to 2. */
    @ComponentInfo(name = "doubled", summary = "Twice softmax attention.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)")
    public static final class Doubled extends Reporting {
        private Doubled() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return exact.forward(query, key, value, context).mul(2f);
        }

        @Override
        public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
            return exact.attentionWeights(query, key, context).mul(2f);
        }
    }

    /** The right weights, but computed with a graph when the inputs require grad. */
    @ComponentInfo(name = "records-graph", summary = "Reports weights with a graph.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class RecordsGraph extends Reporting {
        private RecordsGraph() {
        }

        @Override
        public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
            return query.mul((float) (1 / Math.sqrt(query.size(3)))).matmul(key, false, true).softmax(-1);
        }
    }

    @Test
    void exactSoftmaxAttentionReportingItsWeightsPassesUnderEveryContextAndAFullyPaddedRow() {
        CheckResult result = SingleCheck.result(CHECK, TestSoftmaxAttention.class);
        assertThat(result.passed()).as(result.detail()).isTrue();
        assertThat(result.detail()).contains("plain", "causal+padded+bias+cross", "(all padded)");
    }

    @Test
    void weightsThatAreNotTheOnesAppliedFail() {
        CheckResult result = SingleCheck.result(CHECK, ForgetsBias.class);
        assertThat(result.passed()).isFalse();
        assertThat(result.detail()).containsPattern("; worst [a-z+]*bias");
    }

    @Test
    void rowsThatDoNotSumToOneOrZeroFail() {
        CheckResult result = SingleCheck.result(CHECK, Doubled.class);
        assertThat(result.passed()).isFalse();
        assertThat(result.detail()).contains("not 1 or 0");
    }

    @Test
    void weightsRecordedInAGraphFail() {
        CheckResult result = SingleCheck.result(CHECK, RecordsGraph.class);
        assertThat(result.passed()).isFalse();
        assertThat(result.detail()).contains("record a graph");
    }

    @Test
    void appliesOnlyToMechanismsThatReportWeights() {
        assertThat(AttentionConformance.checkNames()).contains(CHECK);
        assertThat(AttentionConformance.run(SingleCheck.provider(MaskingChecksTest.FiniteMask.class)))
                .extracting(CheckResult::check).doesNotContain(CHECK);
    }
}
