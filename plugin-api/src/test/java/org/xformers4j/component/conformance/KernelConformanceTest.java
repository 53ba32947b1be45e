package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.tensor.Tensor;

/**
 * A kernel attention that declares its {@link KernelFeatureMap} is checked against its own
 * definition ({@code matches-kernel-definition}, and {@code gradient-inputs} against the float64
 * kernel reference), and a mechanism that computes another map than it declares fails.
 */
class KernelConformanceTest {

    /** Non-causal kernel attention with φ(x) = x² + 1, computing {@code offset} in place of the declared 1. */
    abstract static class SquareKernel implements AttentionMechanism, KernelFeatureMap {

        abstract float offset();

        @Override
        public double[] features(int head, double[] x) {
            return Arrays.stream(x).map(e -> e * e + 1).toArray();
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4 || query.size(3) != key.size(3)
                    || query.size(2) != key.size(2) || key.size(2) != value.size(2)) {
                throw new IllegalArgumentException("square: query " + Arrays.toString(query.shape()) + ", key "
                        + Arrays.toString(key.shape()) + ", value " + Arrays.toString(value.shape()));
            }
            if (context.keyPaddingMask() != null || context.bias() != null || context.dropout() > 0
                    || context.causal()) {
                throw new IllegalArgumentException("square: no key padding mask, no bias, no dropout, not causal");
            }
            Tensor fq = query.mul(query).add(offset());
            Tensor fk = key.mul(key).add(offset());
            Tensor numerator = fq.matmul(fk.matmul(value, true, false));
            return numerator.div(fq.mul(fk.sum(2, true)).sum(3, true));
        }
    }

    @ComponentInfo(name = "square", summary = "Kernel attention with x^2 + 1.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(N)")
    public static final class Square extends SquareKernel {
        private Square() {
        }

        @Override
        float offset() {
            return 1f;
        }
    }

    public static final class SquareProvider extends ConfigurableComponentProvider<Square> {
        public SquareProvider() {
            super(Square.class);
        }
    }

    @ComponentInfo(name = "mislabelled", summary = "Kernel attention with x^2 + 2, declaring x^2 + 1.",
            reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(N)")
    public static final class Mislabelled extends SquareKernel {
        private Mislabelled() {
        }

        @Override
        float offset() {
            return 2f;
        }
    }

    public static final class MislabelledProvider extends ConfigurableComponentProvider<Mislabelled> {
        public MislabelledProvider() {
            super(Mislabelled.class);
        }
    }

    @Test
    void aKernelAttentionIsCheckedAgainstItsOwnDefinitionInDoublePrecision() {
        List<CheckResult> results = AttentionConformance.run(new SquareProvider());
        assertThat(results).extracting(CheckResult::check).containsExactly("matches-kernel-definition",
                "gradient-inputs", "batch-independent", "rejects-bad-input", "reproducible");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.detail()).isTrue());
        assertThat(results.get(0).detail()).contains("against float64 kernel attention with its own feature map");
        assertThat(results.get(1).detail()).contains("against float64 kernel attention with its own feature map");
    }

    @Test
    void computingAnotherFeatureMapThanDeclaredFails() {
        List<CheckResult> results = AttentionConformance.run(new MislabelledProvider());
        CheckResult definition = results.get(0);
        assertThat(definition.check()).isEqualTo("matches-kernel-definition");
        assertThat(definition.passed()).isFalse();
        assertThat(definition.detail()).contains("worst plain: element");
    }

    @Test
    void mechanismsWithoutAFeatureMapAreNotSubjectToIt() {
        assertThat(AttentionConformance.run(new AttentionConformanceTest.LeakyProvider()))
                .extracting(CheckResult::check).doesNotContain("matches-kernel-definition");
    }
}
