package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/** {@link MultiHeadAttention} built with {@code checkpointHeads}: one head at a time, each recomputed in backward. */
class MultiHeadAttentionCheckpointTest {

    private static final int DIM = 12;
    private static final int HEADS = 4;

    /** {@link TestSoftmaxAttention} that logs the number of heads of every call. */
    @ComponentInfo(name = "test-counted-softmax", summary = "Exact softmax attention logging its calls",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class CountedAttention implements AttentionMechanism {
        final List<Integer> callHeads = new ArrayList<>();
        private TestSoftmaxAttention softmax = new TestSoftmaxAttention();
        private boolean independent = true;

        /** For OLCUT's descriptor. */
        public CountedAttention() {
        }

        static CountedAttention of(int group, boolean independent) {
            CountedAttention attention = new CountedAttention();
            attention.softmax = new TestSoftmaxAttention(group);
            attention.independent = independent;
            return attention;
        }

        @Override
        public int keyValueHeads(int heads) {
            return softmax.keyValueHeads(heads);
        }

        @Override
        public boolean headsIndependent() {
            return independent;
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            callHeads.add(query.size(1));
            return softmax.forward(query, key, value, context);
        }
    }

    private static MultiHeadAttention layer(int group, boolean checkpointHeads) {
        return new MultiHeadAttention(DIM, HEADS, CountedAttention.of(group, true), null, true, checkpointHeads,
                new SplittableRandom(3));
    }

    private record Run(float[] output, Map<String, float[]> gradients) {
    }

    /** Self- then cross-attention of x over memory, summed with weights, and every gradient that results. */
    private static Run run(MultiHeadAttention attention, Tensor x, Tensor memory, Tensor bias, Tensor weights) {
        Tensor mask = Tensor.of(new float[] {0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, 2, 5);
        AttentionContext self = AttentionContext.builder().causal(true).bias(bias).build();
        AttentionContext cross = AttentionContext.builder().keyPaddingMask(mask).build();
        Tensor out = attention.crossAttention(attention.selfAttention(x, self), memory, cross);
        out.mul(weights).sum().backward();
        Map<String, float[]> gradients = new LinkedHashMap<>();
        gradients.put("x", x.grad().toFloatArray());
        gradients.put("memory", memory.grad().toFloatArray());
        gradients.put("bias", bias.grad().toFloatArray());
        attention.namedParameters().forEach((name, p) -> gradients.put(name, p.grad().toFloatArray()));
        x.zeroGrad();
        memory.zeroGrad();
        bias.zeroGrad();
        return new Run(out.toFloatArray(), gradients);
    }

    @Test
    void outputAndEveryGradientEqualThoseOfAllHeadsAtOnce() {
        for (int group : new int[] {1, 2}) {
            SplittableRandom rng = new SplittableRandom(4);
            Tensor x = Tensor.randn(rng, 2, 4, DIM).requiresGrad(true);
            Tensor memory = Tensor.randn(rng, 2, 5, DIM).requiresGrad(true);
            Tensor bias = Tensor.randn(rng, HEADS, 4, 4).requiresGrad(true);      // one bias per head
            Tensor weights = Tensor.randn(rng, 2, 4, DIM);

            MultiHeadAttention plainLayer = layer(group, false);
            MultiHeadAttention checkpointed = layer(group, true);
            Run plain = run(plainLayer, x, memory, bias, weights);
            Run perHead = run(checkpointed, x, memory, bias, weights);

            assertThat(perHead.output()).as("group " + group).containsExactly(plain.output());
            assertThat(perHead.gradients().keySet()).containsExactlyElementsOf(plain.gradients().keySet());
            plain.gradients().forEach((name, expected) ->      // the same ops on the same values: bit for bit
                    assertThat(perHead.gradients().get(name)).as("group %d, %s", group, name).containsExactly(expected));
            // forward: 1 + 1 calls of all heads; per head: 4 + 4 in forward, as many again in backward
            assertThat(((CountedAttention) plainLayer.mechanism()).callHeads).containsOnly(HEADS).hasSize(2);
            assertThat(((CountedAttention) checkpointed.mechanism()).callHeads).containsOnly(1).hasSize(4 * HEADS);
        }
    }

    @Test
    void evaluationModeAndRecordingOffDoNotRecompute() {
        MultiHeadAttention attention = layer(1, true);
        CountedAttention mechanism = (CountedAttention) attention.mechanism();
        Tensor x = Tensor.randn(new SplittableRandom(5), 2, 4, DIM);
        attention.eval();
        attention.selfAttention(x, AttentionContext.none());
        assertThat(mechanism.callHeads).containsExactly(HEADS);
        attention.train();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor out = attention.selfAttention(x, AttentionContext.none());
            assertThat(out.requiresGrad()).isFalse();
        }
        assertThat(mechanism.callHeads).containsExactly(HEADS, 1, 1, 1, 1);       // one head at a time, once each
    }

    @Test
    void refusesAMechanismWhoseHeadsAreNotIndependentAndAttentionDropoutInTraining() {
        assertThatThrownBy(() -> new MultiHeadAttention(DIM, HEADS, CountedAttention.of(1, false), null, true, true,
                new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-counted-softmax'")
                .hasMessageContaining("headsIndependent() is false");
        MultiHeadAttention attention = layer(1, true);
        Tensor x = Tensor.randn(new SplittableRandom(6), 2, 4, DIM).requiresGrad(true);
        AttentionContext dropout = AttentionContext.builder().dropout(0.1f, new SplittableRandom(7)).build();
        assertThatThrownBy(() -> attention.selfAttention(x, dropout))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("attention dropout 0.1 in training");
        attention.eval();
        assertThat(attention.selfAttention(x, dropout).shape()).containsExactly(2, 4, DIM);
    }
}
