package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.FeedForward.Activation;
import org.xformers4j.tensor.Tensor;

class ChunkedFeedForwardTest {

    private static final int DIM = 16;
    private static final int HIDDEN = 48;

    @ParameterizedTest
    @EnumSource(value = Activation.class, names = {"GELU", "SWIGLU"})
    void outputAndGradientsEqualTheUnchunkedFeedForward(Activation activation) {
        ChunkedFeedForward chunked = new ChunkedFeedForward(DIM, HIDDEN, activation, true, 8, new SplittableRandom(7));
        FeedForward plain = new FeedForward(DIM, HIDDEN, activation, true, 0f, new SplittableRandom(7));
        SplittableRandom rng = new SplittableRandom(1);
        Tensor x = Tensor.randn(rng, 2, 37, DIM);   // 74 positions: 9 chunks of 8 and one of 2
        Tensor weights = Tensor.randn(rng, 2, 37, DIM);

        Tensor xChunked = x.detach().requiresGrad(true);
        Tensor outChunked = chunked.forward(xChunked);
        outChunked.mul(weights).sum().backward();
        Tensor xPlain = x.detach().requiresGrad(true);
        Tensor outPlain = plain.forward(xPlain);
        outPlain.mul(weights).sum().backward();

        assertThat(outChunked.shape()).containsExactly(2, 37, DIM);
        assertClose("output", outChunked, outPlain, 1e-6f);
        assertClose("input grad", xChunked.grad(), xPlain.grad(), 1e-5f);
        Map<String, Tensor> plainParams = plain.namedParameters();
        assertThat(chunked.namedParameters()).hasSize(plainParams.size());
        chunked.namedParameters().forEach((name, p) ->
                assertClose(name + " grad", p.grad(), plainParams.get(name.substring("ffn.".length())).grad(), 1e-5f));
    }

    @Test
    void parametersGetGradientsWhenTheInputNeedsNone() {
        ChunkedFeedForward chunked = new ChunkedFeedForward(DIM, HIDDEN, Activation.RELU, false, 5, new SplittableRandom(3));
        FeedForward plain = new FeedForward(DIM, HIDDEN, Activation.RELU, false, 0f, new SplittableRandom(3));
        Tensor x = Tensor.randn(new SplittableRandom(4), 12, DIM);

        chunked.forward(x).sum().backward();
        plain.forward(x).sum().backward();

        assertThat(x.grad()).isNull();
        assertClose("ffn.up.weight grad", chunked.ffn().namedParameters().get("up.weight").grad(),
                plain.namedParameters().get("up.weight").grad(), 1e-5f);
        assertClose("ffn.down.weight grad", chunked.ffn().namedParameters().get("down.weight").grad(),
                plain.namedParameters().get("down.weight").grad(), 1e-5f);
    }

    @Test
    void rejectsANonPositiveChunkSize() {
        assertThatThrownBy(() -> new ChunkedFeedForward(DIM, HIDDEN, Activation.GELU, true, 0, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("chunkSize must be >= 1, got 0");
    }

    /**
     * B=1, L=4096, D=64, hidden=1024: unchunked, forward and backward hold the [4096, 1024] hidden
     * activations and their gradients (16 MiB each); in chunks of 256 positions only 1/16 of that.
     */
    @Test
    void peakTrainingMemoryIsMuchLowerThanUnchunked() {
        int length = 4096;
        FeedForward ffn = new FeedForward(64, 1024, Activation.GELU, true, 0f, new SplittableRandom(5));
        SplittableRandom rng = new SplittableRandom(6);
        Tensor x = Tensor.randn(rng, 1, length, 64).requiresGrad(true);
        Tensor gradOut = Tensor.randn(rng, 1, length, 64);

        long unchunked = MemoryProbe.peakBytes(() -> ffn.forward(MemoryProbe.collectPoint(x)).backward(gradOut));
        ffn.zeroGrad();
        x.zeroGrad();
        long chunked = MemoryProbe.peakBytes(() -> ChunkedFeedForward.apply(x,
                c -> ffn.forward(MemoryProbe.collectPoint(c)), ffn.parameters(), 256).backward(gradOut));

        System.out.printf("ChunkedFeedForward peak forward+backward bytes: unchunked %d, chunked(256) %d (%.3f)%n",
                unchunked, chunked, (double) chunked / unchunked);
        assertThat(unchunked).isGreaterThan(4L * length * 1024 * 2);   // at least the two stored hidden activations
        assertThat((double) chunked).isLessThan(0.5 * unchunked);
    }

    static void assertClose(String what, Tensor actual, Tensor expected, float relTol) {
        assertThat(actual).as(what).isNotNull();
        assertThat(actual.shape()).as(what + " shape").containsExactly(expected.shape());
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        float scale = 0f;
        for (float v : e) {
            scale = Math.max(scale, Math.abs(v));
        }
        float tol = relTol * Math.max(1f, scale);
        for (int i = 0; i < a.length; i++) {
            assertThat(a[i]).as("%s[%d]", what, i).isCloseTo(e[i], offset(tol));
        }
    }
}
