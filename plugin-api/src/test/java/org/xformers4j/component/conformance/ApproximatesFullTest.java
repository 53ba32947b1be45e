package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.Tensor;

/**
 * {@code approximates-full} passes a mechanism whose error against softmax attention falls along
 * its declared settings and ends small, and fails one whose error stalls, one that ends too far
 * from softmax attention, and a malformed declaration.
 */
class ApproximatesFullTest {

    /** Softmax attention with the scores multiplied by 1 - 1/resolution: uniform averaging at 1, full attention in the limit. */
    @ComponentInfo(name = "tempered", summary = "Softmax attention at a temperature that tends to 1.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)",
            convergesWith = {"resolution=1", "resolution=4", "resolution=64"})
    public static final class Tempered implements AttentionMechanism {
        @Config(description = "How close the temperature is to 1.")
        private int resolution = 1;

        private Tempered() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            float scale = (float) ((1 - 1.0 / resolution) / Math.sqrt(query.size(3)));
            return query.mul(scale).matmul(key, false, true).softmax(-1).matmul(value);
        }
    }

    /**
     * Softmax attention plus Gaussian noise drawn from {@code seed}, of standard deviation
     * {@link #amplitude(int)} for the resolution: a stand-in for a random-feature estimate.
     */
    abstract static class Noisy implements AttentionMechanism {
        @Config(description = "How fine the estimate is.")
        private int resolution = 1;

        @Config(description = "Seed of the noise.")
        private long seed = 1L;

        abstract float amplitude(int resolution);

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            Tensor exact = query.mul((float) (1 / Math.sqrt(query.size(3)))).matmul(key, false, true).softmax(-1)
                    .matmul(value);
            return exact.add(Tensor.randn(new SplittableRandom(seed), exact.shape()).mul(amplitude(resolution)));
        }
    }

    @ComponentInfo(name = "converging", summary = "Noise falling like 1/resolution.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)",
            convergesWith = {"resolution=1", "resolution=4", "resolution=64"})
    public static final class Converging extends Noisy {
        private Converging() {
        }

        @Override
        float amplitude(int resolution) {
            return 0.1f / resolution;
        }
    }

    @ComponentInfo(name = "stuck", summary = "Noise that does not fall.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)",
            convergesWith = {"resolution=1", "resolution=4", "resolution=64"})
    public static final class Stuck extends Noisy {
        private Stuck() {
        }

        @Override
        float amplitude(int resolution) {
            return resolution == 64 ? 0.1f : 0.1f / resolution;
        }
    }

    @ComponentInfo(name = "coarse", summary = "Noise that falls, but not far enough.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)",
            convergesWith = {"resolution=1", "resolution=2"})
    public static final class Coarse extends Noisy {
        private Coarse() {
        }

        @Override
        float amplitude(int resolution) {
            return 1f / resolution;
        }
    }

    @ComponentInfo(name = "malformed", summary = "Declares a setting that is not name=value.", reference = "test")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = false, time = "O(N^2)", memory = "O(N^2)",
            convergesWith = {"resolution=1", "resolution 4"})
    public static final class Malformed extends Noisy {
        private Malformed() {
        }

        @Override
        float amplitude(int resolution) {
            return 0.1f / resolution;
        }
    }

    @Test
    void anErrorThatFallsAlongTheSettingsToNearlyZeroPassesAndIsReported() {
        CheckResult tempered = SingleCheck.result("approximates-full", Tempered.class);
        assertThat(tempered.passed()).as(tempered.detail()).isTrue();
        assertThat(tempered.detail()).startsWith("mean relative error against float64 softmax attention: resolution=1 ")
                .contains(", resolution=4 ", ", resolution=64 ").doesNotContain("seeds");

        CheckResult converging = SingleCheck.result("approximates-full", Converging.class);
        assertThat(converging.passed()).as(converging.detail()).isTrue();
        assertThat(converging.detail()).contains("(mean of " + ApproximatesFull.SEEDS + " seeds)");
    }

    @Test
    void anErrorThatDoesNotFallFails() {
        CheckResult stuck = SingleCheck.result("approximates-full", Stuck.class);
        assertThat(stuck.passed()).isFalse();
        assertThat(stuck.detail()).contains("resolution=64 is not below 0.8 times the error of resolution=4");
    }

    @Test
    void anErrorThatFallsButEndsAboveTheToleranceFails() {
        CheckResult coarse = SingleCheck.result("approximates-full", Coarse.class);
        assertThat(coarse.passed()).isFalse();
        assertThat(coarse.detail()).contains("the last is above 0.030");
    }

    @Test
    void aSettingThatIsNotNameEqualsValueFailsNamingIt() {
        CheckResult malformed = SingleCheck.result("approximates-full", Malformed.class);
        assertThat(malformed.passed()).isFalse();
        assertThat(malformed.detail()).contains("convergesWith entry 'resolution 4' is not name=value");
    }

    @Test
    void mechanismsThatDeclareNoSettingsAreNotSubjectToIt() {
        assertThat(AttentionConformance.run(new AttentionConformanceTest.LeakyProvider()))
                .extracting(CheckResult::check).doesNotContain("approximates-full");
    }
}
