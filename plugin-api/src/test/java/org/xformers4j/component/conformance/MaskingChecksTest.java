package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

/**
 * The masking checks ({@code huge-negative-bias}, {@code fully-masked-rows},
 * {@code large-score-gradients}) catch the faults they are written for: masking with a finite
 * score, and weights recomputed from one float32 log-sum-exp.
 */
class MaskingChecksTest {

    /** Softmax attention over the keys that context masks, written with tensor ops; subclasses pick how to mask and normalise. */
    abstract static class Softmax implements AttentionMechanism {

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            int batch = query.size(0);
            int lq = query.size(2);
            int lk = key.size(2);
            if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4 || lq != lk || key.size(2) != value.size(2)) {
                throw new IllegalArgumentException("test attention: bad shapes");
            }
            if (context.dropout() > 0f) {
                throw new IllegalArgumentException("test attention: no dropout");
            }
            Tensor scores = query.mul((float) (1 / Math.sqrt(query.size(3)))).matmul(key, false, true);
            if (context.bias() != null) {
                scores = scores.add(context.bias());
            }
            float[] masked = new float[batch * lq * lk];
            float[] padding = context.keyPaddingMask() == null ? null : context.keyPaddingMask().toFloatArray();
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < lq; i++) {
                    for (int j = 0; j < lk; j++) {
                        boolean hidden = padding != null && padding[b * lk + j] != 0f || context.causal() && j > i;
                        masked[(b * lq + i) * lk + j] = hidden ? 1f : 0f;
                    }
                }
            }
            return weights(scores, Tensor.of(masked, batch, 1, lq, lk)).matmul(value);
        }

        /** The attention weights of the scores, where {@code masked} is 1. */
        abstract Tensor weights(Tensor scores, Tensor masked);
    }

    /** Masks with the finite -Float.MAX_VALUE / 2, as local and sliding-window attention did. */
    @ComponentInfo(name = "finite-mask", summary = "Softmax attention masking with a finite score.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class FiniteMask extends Softmax {
        private FiniteMask() {
        }

        @Override
        Tensor weights(Tensor scores, Tensor masked) {
            return scores.add(masked.mul(-Float.MAX_VALUE / 2)).softmax(-1);
        }
    }

    public static final class FiniteMaskProvider extends ConfigurableComponentProvider<FiniteMask> {
        public FiniteMaskProvider() {
            super(FiniteMask.class);
        }
    }

    /** Masks with -∞ but normalises by one float32 log-sum-exp per query, e^(s - lse). */
    @ComponentInfo(name = "log-sum-exp", summary = "Softmax attention normalised by a float log-sum-exp.",
            reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class LogSumExp extends Softmax {
        private LogSumExp() {
        }

        @Override
        Tensor weights(Tensor scores, Tensor masked) {
            Tensor s = scores.maskedFill(masked, Float.NEGATIVE_INFINITY);
            return s.sub(s.logsumexp(-1, true)).exp().maskedFill(masked, 0f);
        }
    }

    public static final class LogSumExpProvider extends ConfigurableComponentProvider<LogSumExp> {
        public LogSumExpProvider() {
            super(LogSumExp.class);
        }
    }

    private static CheckResult result(List<CheckResult> results, String check) {
        return results.stream().filter(r -> r.check().equals(check)).findFirst().orElseThrow();
    }

    @Test
    void aFiniteMaskFailsTheHugeBiasAndFullyMaskedChecks() {
        List<CheckResult> results = AttentionConformance.run(new FiniteMaskProvider());
        CheckResult huge = result(results, "huge-negative-bias");
        assertThat(huge.passed()).as(huge.detail()).isFalse();
        assertThat(huge.detail()).contains("-3.4028235E38").contains("keys they may not see");
        CheckResult fully = result(results, "fully-masked-rows");
        assertThat(fully.passed()).as(fully.detail()).isFalse();
        assertThat(fully.detail()).contains("batch element 1").contains("must be 0");
        assertThat(result(results, "matches-full").passed()).isTrue();
    }

    @Test
    void oneFloatLogSumExpFailsTheLargeScoreCheckThoughItMatchesFullAttention() {
        List<CheckResult> results = AttentionConformance.run(new LogSumExpProvider());
        CheckResult large = result(results, "large-score-gradients");
        assertThat(large.passed()).as(large.detail()).isFalse();
        assertThat(large.detail()).contains("scores near -1.0E8");
        assertThat(result(results, "matches-full").passed()).isTrue();
        assertThat(result(results, "gradient-inputs").passed()).isTrue();
    }
}
