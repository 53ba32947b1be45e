package org.xformers4j.attention.exact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FlashAttentionProvider;
import org.xformers4j.attention.exact.FullAttentionProvider;
import org.xformers4j.attention.hashing.LshAttentionProvider;
import org.xformers4j.attention.local.LocalAttentionProvider;
import org.xformers4j.attention.local.SlidingWindowAttentionProvider;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/** The options SoftmaxAttention gives every softmax mechanism, checked against plain full attention. */
class SoftmaxAttentionOptionsTest {

    private final SplittableRandom rng = new SplittableRandom(5);
    private final FullAttention plain = new FullAttention(0f);

    private static void assertClose(Tensor actual, Tensor expected) {
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        assertThat(a).hasSameSizeAs(e);
        for (int i = 0; i < a.length; i++) {
            assertThat(a[i]).as("element %d", i).isCloseTo(e[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /** [B, kv, L, D] with each head repeated {@code group} times, by explicit copies. */
    private static Tensor repeat(Tensor x, int group) {
        Tensor[] heads = new Tensor[x.size(1) * group];
        for (int h = 0; h < heads.length; h++) {
            heads[h] = x.narrow(1, h / group, 1);
        }
        return Tensor.concat(1, heads);
    }

    @Test
    void groupedQueryHeadsShareTheirKeyValueHead() {
        for (String name : new String[] {"full", "flash", "sliding-window", "local"}) {
            SoftmaxAttention grouped = create(name, Map.of("kvHeads", "2"));
            assertThat(grouped.keyValueHeads(6)).isEqualTo(2);
            Tensor q = Tensor.randn(rng, 2, 6, 5, 4);
            Tensor k = Tensor.randn(rng, 2, 2, 5, 4);
            Tensor v = Tensor.randn(rng, 2, 2, 5, 3);
            AttentionContext causal = AttentionContext.builder().causal(true).build();
            assertClose(grouped.forward(q, k, v, causal), plain.forward(q, repeat(k, 3), repeat(v, 3), causal));
        }
        assertThatThrownBy(() -> plain.forward(Tensor.zeros(1, 3, 2, 4), Tensor.zeros(1, 2, 2, 4),
                Tensor.zeros(1, 2, 2, 4), AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key [1, 2, 2, 4]")
                .hasMessageContaining("3 heads of query [1, 3, 2, 4]");
    }

    @Test
    void groupedHeadsGetSummedGradients() {
        SoftmaxAttention grouped = create("full", Map.of("kvHeads", "1"));
        Tensor q = GradCheck.input(rng, 1, 2, 3, 4);
        Tensor k = GradCheck.input(rng, 1, 1, 3, 4);
        Tensor v = GradCheck.input(rng, 1, 1, 3, 4);
        Tensor out = grouped.forward(q, k, v, AttentionContext.none());
        out.backward(Tensor.ones(out.shape()));
        Tensor k2 = k.detach().requiresGrad(true);
        Tensor reference = plain.forward(q.detach(), repeat(k2, 2), repeat(v.detach(), 2), AttentionContext.none());
        reference.backward(Tensor.ones(reference.shape()));
        assertClose(k.grad(), k2.grad());
    }

    @Test
    void queryKeyNormUsesUnitVectorsAndALearnedTemperature() {
        SoftmaxAttention normed = create("full", Map.of("qkNorm", "true", "qkNormTemperature", "3"));
        normed.initialize(2, 4, rng);
        Tensor q = Tensor.randn(rng, 1, 2, 5, 4);
        Tensor k = Tensor.randn(rng, 1, 2, 5, 4);
        Tensor v = Tensor.randn(rng, 1, 2, 5, 4);
        Tensor unitQ = q.div(q.pow(2f).sum(-1, true).sqrt());
        Tensor unitK = k.div(k.pow(2f).sum(-1, true).sqrt());
        Tensor expected = new FullAttention(1f).forward(unitQ.mul(3f), unitK, v, AttentionContext.none());
        Tensor actual = normed.forward(q, k, v, AttentionContext.none());
        assertClose(actual, expected);
        actual.sum().backward();
        assertThat(normed.namedParameters()).containsOnlyKeys("temperature");
        assertThat(normed.namedParameters().get("temperature").grad()).isNotNull();
    }

    @Test
    void memorySlotsArePrependedVisibleToEveryQueryAndNeverPadded() {
        SoftmaxAttention memory = create("full", Map.of("numMemoryKv", "2"));
        memory.initialize(3, 4, rng);
        Tensor memoryKeys = memory.namedParameters().get("memoryKeys");
        Tensor memoryValues = memory.namedParameters().get("memoryValues");
        assertThat(memoryKeys.shape()).containsExactly(3, 2, 4);
        Tensor q = Tensor.randn(rng, 2, 3, 4, 4);
        Tensor k = Tensor.randn(rng, 2, 3, 4, 4);
        Tensor v = Tensor.randn(rng, 2, 3, 4, 4);
        Tensor pad = Tensor.of(new float[] {0, 0, 1, 1, 0, 0, 0, 1}, 2, 4);
        Tensor bias = Tensor.randn(rng, 1, 3, 4, 4);
        AttentionContext context = AttentionContext.builder().causal(true).keyPaddingMask(pad).bias(bias).build();

        Tensor fullKeys = Tensor.concat(2, memoryKeys.detach().unsqueeze(0).expand(2, 3, 2, 4), k);
        Tensor fullValues = Tensor.concat(2, memoryValues.detach().unsqueeze(0).expand(2, 3, 2, 4), v);
        Tensor fullPad = Tensor.concat(1, Tensor.zeros(2, 2), pad);
        Tensor fullBias = Tensor.concat(3, Tensor.zeros(1, 3, 4, 2), bias);
        Tensor expected = plain.forward(q, fullKeys, fullValues,
                AttentionContext.builder().causal(true).keyPaddingMask(fullPad).bias(fullBias).build());
        Tensor actual = memory.forward(q, k, v, context);
        assertClose(actual, expected);
        actual.sum().backward();
        assertThat(memoryValues.grad()).isNotNull();
    }

    @Test
    void optionsAMechanismCannotHonourAreRejectedAtConfiguration() {
        assertThatThrownBy(() -> create("local", Map.of("numMemoryKv", "2")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("local does not support numMemoryKv = 2");
        assertThatThrownBy(() -> create("lsh", Map.of("kvHeads", "1")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("lsh does not support kvHeads = 1");
        assertThatThrownBy(() -> create("lsh", Map.of("qkNorm", "true")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("qkNorm");
        assertThatThrownBy(() -> create("full", Map.of("kvHeads", "-1")))
                .isInstanceOf(PropertyException.class).hasMessageContaining("kvHeads = -1");
    }

    @Test
    void parametersNeedInitializeAndTheMultiHeadLayerCallsIt() {
        SoftmaxAttention memory = create("full", Map.of("numMemoryKv", "1"));
        Tensor x = Tensor.randn(rng, 1, 2, 3, 4);
        assertThatThrownBy(() -> memory.forward(x, x, x, AttentionContext.none()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("initialize");
        SoftmaxAttention grouped = create("flash", Map.of("kvHeads", "2", "numMemoryKv", "1"));
        MultiHeadAttention layer = new MultiHeadAttention(16, 4, grouped, null, true, rng);
        assertThat(layer.namedParameters().get("key.weight").shape()).containsExactly(8, 16);
        assertThat(layer.namedParameters()).containsKey("mechanism.memoryKeys");
        assertThat(layer.selfAttention(Tensor.randn(rng, 2, 5, 16), AttentionContext.none()).shape())
                .containsExactly(2, 5, 16);
        assertThatThrownBy(() -> create("full", Map.of("kvHeads", "3")).initialize(4, 8, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kvHeads 3 must divide the 4 heads");
    }

    private static SoftmaxAttention create(String name, Map<String, String> options) {
        return switch (name) {
            case "full" -> new FullAttentionProvider().create(options);
            case "flash" -> new FlashAttentionProvider().create(options);
            case "local" -> new LocalAttentionProvider().create(options);
            case "sliding-window" -> new SlidingWindowAttentionProvider().create(options);
            case "lsh" -> new LshAttentionProvider().create(options);
            default -> throw new IllegalArgumentException(name);
        };
    }
}
