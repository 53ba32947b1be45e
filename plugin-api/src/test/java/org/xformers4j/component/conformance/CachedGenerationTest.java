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
import org.xformers4j.nn.TestSoftmaxAttention;
import org.xformers4j.tensor.Tensor;

/** {@code cached-generation} passes an exact mechanism and catches a cache that forgets. */
class CachedGenerationTest {

    /**
     * Softmax attention whose incremental path keeps only the last {@value #MEMORY} cached keys, a
     * bug that decoding {@link Problem#LENGTH} tokens never reaches.
     */
    @ComponentInfo(name = "short-memory", summary = "Softmax attention that forgets old cached keys.",
            reference = "test")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    public static final class ShortMemory implements AttentionMechanism {

        static final int MEMORY = Problem.LENGTH;

        private ShortMemory() {
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            int keys = key.size(2);
            if (keys > query.size(2) && keys > MEMORY) {
                key = key.narrow(2, keys - MEMORY, MEMORY);
                value = value.narrow(2, keys - MEMORY, MEMORY);
            }
            return new TestSoftmaxAttention().forward(query, key, value, context);
        }
    }

    private static <T extends AttentionMechanism> ComponentProvider<T> provider(Class<T> type) {
        return new ConfigurableComponentProvider<>(type) {
        };
    }

    private static CheckResult result(ComponentProvider<?> provider, String check) {
        List<CheckResult> results = AttentionConformance.run(provider);
        return results.stream().filter(r -> r.check().equals(check)).findFirst().orElseThrow(() ->
                new AssertionError(check + " did not run: " + results));
    }

    @Test
    void runsRightAfterIncrementalDecoding() {
        List<String> names = AttentionConformance.checkNames();
        assertThat(names.indexOf("cached-generation")).isEqualTo(names.indexOf("incremental-decoding") + 1);
    }

    @Test
    void anExactMechanismGeneratesTheSameWithAndWithoutTheCache() {
        CheckResult result = result(provider(TestSoftmaxAttention.class), "cached-generation");
        assertThat(result.passed()).as(result.detail()).isTrue();
        assertThat(result.detail()).startsWith("8 greedy tokens from 2 prompts with KvCaches, rows reordered "
                + "[1, 0, 0] after step 3").contains("max |difference|");
    }

    @Test
    void aCacheThatForgetsOldKeysFailsAtTheFirstStepThatNeedsThem() {
        ComponentProvider<ShortMemory> forgetful = provider(ShortMemory.class);
        CheckResult incremental = result(forgetful, "incremental-decoding");
        assertThat(incremental.passed()).as(incremental.detail()).isTrue();
        CheckResult result = result(forgetful, "cached-generation");
        assertThat(result.passed()).isFalse();
        // step s attends over 3 + (s - 1) keys: step 7 is the first with more than 8
        assertThat(result.detail()).matches("step 7, row \\d: (logits with KvCaches differ from recomputing the "
                + "prefix by .* relative \\(tolerance 0\\.00010\\)|chose token \\d+ with KvCaches, \\d+ recomputing "
                + "the prefix)");
    }
}
