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
 * A kernel attention whose feature map depends on the position
 * ({@link KernelFeatureMap#features(int, int, double[])}) is checked against the kernel matrix of
 * that map at each query's and key's position, so one that computes the map without the
 * positions it declares fails {@code matches-kernel-definition}.
 */
class PositionalKernelConformanceTest {

    /**
     * Non-causal kernel attention with φ(x, p) = (x² + 1)·(p + 1), so that later keys weigh more;
     * {@code weighsKeys()} false computes it as if the position were not there.
     */
    abstract static class PositionWeighted implements AttentionMechanism, KernelFeatureMap {

        abstract boolean weighsKeys();

        @Override
        public double[] features(int head, double[] x) {
            throw new UnsupportedOperationException("the features depend on the position");
        }

        @Override
        public double[] features(int head, int position, double[] x) {
            return Arrays.stream(x).map(e -> (e * e + 1) * (position + 1)).toArray();
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4 || query.size(3) != key.size(3)
                    || query.size(2) != key.size(2) || key.size(2) != value.size(2)) {
                throw new IllegalArgumentException("weighted: query " + Arrays.toString(query.shape()) + ", key "
                        + Arrays.toString(key.shape()) + ", value " + Arrays.toString(value.shape()));
            }
            if (context.keyPaddingMask() != null || context.bias() != null || context.dropout() > 0
                    || context.causal()) {
                throw new IllegalArgumentException("weighted: no key padding mask, no bias, no dropout, not causal");
            }
            Tensor fq = query.mul(query).add(1f);
            Tensor fk = key.mul(key).add(1f);
            if (weighsKeys()) {
                float[] weights = new float[key.size(2)];
                for (int j = 0; j < weights.length; j++) {
                    weights[j] = j + 1;
                }
                fk = fk.mul(Tensor.of(weights, 1, 1, weights.length, 1));
            }
            // a query's own factor (p + 1) cancels between numerator and denominator
            return fq.matmul(fk.matmul(value, true, false)).div(fq.mul(fk.sum(2, true)).sum(3, true));
        }
    }

    @ComponentInfo(name = "weighted", summary = "Kernel attention with (x^2 + 1)(p + 1).", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(N)")
    public static final class Weighted extends PositionWeighted {
        private Weighted() {
        }

        @Override
        boolean weighsKeys() {
            return true;
        }
    }

    public static final class WeightedProvider extends ConfigurableComponentProvider<Weighted> {
        public WeightedProvider() {
            super(Weighted.class);
        }
    }

    @ComponentInfo(name = "position-blind", summary = "Kernel attention with x^2 + 1, declaring (x^2 + 1)(p + 1).",
            reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N)", memory = "O(N)")
    public static final class PositionBlind extends PositionWeighted {
        private PositionBlind() {
        }

        @Override
        boolean weighsKeys() {
            return false;
        }
    }

    public static final class PositionBlindProvider extends ConfigurableComponentProvider<PositionBlind> {
        public PositionBlindProvider() {
            super(PositionBlind.class);
        }
    }

    @Test
    void aPositionalKernelIsCheckedAtEachQueryAndKeyPosition() {
        List<CheckResult> results = AttentionConformance.run(new WeightedProvider());
        assertThat(results).extracting(CheckResult::check).contains("matches-kernel-definition", "gradient-inputs");
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.check() + ": " + r.detail()).isTrue());
    }

    @Test
    void computingTheMapWithoutItsPositionsFails() {
        CheckResult definition = AttentionConformance.run(new PositionBlindProvider()).get(0);
        assertThat(definition.check()).isEqualTo("matches-kernel-definition");
        assertThat(definition.passed()).isFalse();
    }
}
