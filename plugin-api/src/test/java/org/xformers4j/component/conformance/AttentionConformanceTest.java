package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.Tensor;

/** The suite catches what it promises to catch; attention-plugins applies it to the real mechanisms. */
class AttentionConformanceTest {

    /** Declares causal support and the other features but ignores the causal flag. */
    @ComponentInfo(name = "leaky", summary = "Softmax attention that ignores the causal flag.", reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)")
    public static final class Leaky implements AttentionMechanism {

        private Leaky() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4 || query.size(3) != key.size(3)
                    || query.size(2) != key.size(2) || key.size(2) != value.size(2)) {
                throw new IllegalArgumentException("leaky: query " + Arrays.toString(query.shape()) + ", key "
                        + Arrays.toString(key.shape()) + ", value " + Arrays.toString(value.shape()));
            }
            if (context.keyPaddingMask() != null || context.bias() != null || context.dropout() > 0) {
                throw new IllegalArgumentException("leaky: no key padding mask, no bias, no dropout");
            }
            return query.mul(0.5f).matmul(key, false, true).softmax(-1).matmul(value);
        }
    }

    public static final class LeakyProvider extends ConfigurableComponentProvider<Leaky> {
        public LeakyProvider() {
            super(Leaky.class);
        }
    }

    @ComponentInfo(name = "nothing", summary = "Positional encoding that does nothing.", reference = "test")
    @PositionalCapabilities(learnable = false, extrapolates = true)
    public static final class Nothing implements PositionalEncoding {
        private Nothing() {
        }
    }

    public static final class NothingProvider extends ConfigurableComponentProvider<Nothing> {
        public NothingProvider() {
            super(Nothing.class);
        }
    }

    @Test
    void ignoringTheCausalFlagFailsTheLeakageCheckAndNothingElse() {
        List<CheckResult> results = AttentionConformance.run(new LeakyProvider());
        assertThat(results).extracting(CheckResult::check).containsExactly("gradient-inputs", "causal-no-leakage",
                "batch-independent", "rejects-bad-input", "reproducible");
        CheckResult leakage = results.get(1);
        assertThat(leakage.passed()).isFalse();
        assertThat(leakage.component()).isEqualTo("leaky");
        assertThat(leakage.detail()).contains("leaks");
        assertThat(results).filteredOn(r -> r != leakage).allSatisfy(r -> assertThat(r.passed()).as(r.detail()).isTrue());
    }

    @Test
    void otherKindsAreRejected() {
        assertThatThrownBy(() -> AttentionConformance.run(new NothingProvider()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'nothing' is a positional component");
    }
}
