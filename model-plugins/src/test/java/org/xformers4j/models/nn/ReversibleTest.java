package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.models.nn.ChunkedFeedForwardTest.assertClose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.FeedForward.Activation;
import org.xformers4j.nn.Linear;
import org.xformers4j.tensor.Tensor;

class ReversibleTest {

    private static final int DIM = 8;

    /** F = tanh(Linear(x)), G = a GELU feed-forward with hidden size 4·dim and the given dropout. */
    private static ReversibleSequence sequence(int depth, int dim, float dropout, UnaryOperator<Tensor> tap, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<ReversibleBlock> blocks = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            Linear f = new Linear(dim, dim, true, rng);
            FeedForward g = new FeedForward(dim, 4 * dim, Activation.GELU, true, dropout, rng);
            blocks.add(ReversibleBlock.of(f, x -> f.forward(tap.apply(x)).tanh(), g, x -> g.forward(tap.apply(x))));
        }
        return new ReversibleSequence(blocks);
    }

    /** The same two-stream computation with every activation stored by autograd. */
    private static Tensor storedForward(ReversibleSequence sequence, Tensor x1, Tensor x2) {
        Tensor[] streams = {x1, x2};
        for (ReversibleBlock block : sequence.blocks()) {
            streams = block.forward(streams[0], streams[1]);
        }
        return Tensor.concat(x1.dim() - 1, streams);
    }

    @Test
    void outputAndGradientsEqualThoseOfStoredActivations() {
        ReversibleSequence sequence = sequence(4, DIM, 0f, UnaryOperator.identity(), 11);
        SplittableRandom rng = new SplittableRandom(12);
        Tensor x1 = Tensor.randn(rng, 2, 5, DIM).requiresGrad(true);
        Tensor x2 = Tensor.randn(rng, 2, 5, DIM).requiresGrad(true);
        Tensor weights = Tensor.randn(rng, 2, 5, 2 * DIM);

        Tensor reversible = sequence.forward(x1, x2);
        reversible.mul(weights).sum().backward();
        Tensor dx1 = x1.grad();
        Tensor dx2 = x2.grad();
        Map<String, Tensor> paramGrads = new LinkedHashMap<>();
        sequence.namedParameters().forEach((name, p) -> paramGrads.put(name, p.grad()));
        sequence.zeroGrad();
        x1.zeroGrad();
        x2.zeroGrad();
        Tensor stored = storedForward(sequence, x1, x2);
        stored.mul(weights).sum().backward();

        assertThat(reversible.gradFnName()).isEqualTo("Reversible");
        assertClose("output", reversible, stored, 1e-6f);
        assertClose("x1 grad", dx1, x1.grad(), 1e-5f);
        assertClose("x2 grad", dx2, x2.grad(), 1e-5f);
        assertThat(paramGrads).hasSize(4 * 6);   // per block: f weight and bias, g up and down weights and biases
        sequence.namedParameters().forEach((name, p) -> assertClose(name + " grad", paramGrads.get(name), p.grad(), 1e-5f));
    }

    @Test
    void parametersGetGradientsWhenTheStreamsNeedNone() {
        ReversibleSequence sequence = sequence(2, DIM, 0f, UnaryOperator.identity(), 21);
        Tensor x = Tensor.randn(new SplittableRandom(22), 3, DIM);

        sequence.forward(x, x).sum().backward();
        Map<String, Tensor> reversibleGrads = new LinkedHashMap<>();
        sequence.namedParameters().forEach((name, p) -> reversibleGrads.put(name, p.grad()));
        sequence.zeroGrad();
        storedForward(sequence, x, x).sum().backward();

        sequence.namedParameters().forEach((name, p) -> assertClose(name + " grad", reversibleGrads.get(name), p.grad(), 1e-5f));
    }

    @Test
    void inverseReconstructsTheInputs() {
        ReversibleSequence sequence = sequence(8, DIM, 0f, UnaryOperator.identity(), 31);
        SplittableRandom rng = new SplittableRandom(32);
        Tensor x1 = Tensor.randn(rng, 4, 16, DIM);
        Tensor x2 = Tensor.randn(rng, 4, 16, DIM);

        Tensor[] reconstructed = sequence.inverse(sequence.forward(x1, x2));

        assertClose("x1", reconstructed[0], x1, 1e-5f);
        assertClose("x2", reconstructed[1], x2, 1e-5f);
    }

    @Test
    void dropoutInTrainingModeIsDetectedInBackward() {
        ReversibleSequence sequence = sequence(2, DIM, 0.5f, UnaryOperator.identity(), 41);
        Tensor x = Tensor.randn(new SplittableRandom(42), 6, DIM).requiresGrad(true);

        Tensor y = sequence.forward(x, x);
        assertThatThrownBy(() -> y.sum().backward())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("inputs reconstructed in backward differ")
                .hasMessageContaining("dropout in training mode?");

        sequence.eval();
        sequence.forward(x, x).sum().backward();
        assertThat(x.grad()).isNotNull();
    }

    @Test
    void rejectsStreamsOfDifferentShapesAndAnEmptyStack() {
        ReversibleSequence sequence = sequence(1, DIM, 0f, UnaryOperator.identity(), 51);
        assertThatThrownBy(() -> sequence.forward(Tensor.zeros(2, DIM), Tensor.zeros(3, DIM)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("streams x1 [2, 8] and x2 [3, 8] must have one shape");
        assertThatThrownBy(() -> new ReversibleSequence(List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blocks must be a non-empty list");
    }

    /**
     * [4096, 64] streams with a 256-wide feed-forward: each stored block holds about 12 MiB of
     * activations, the reversible stack only its two streams and one block's recomputation.
     */
    @Test
    void peakTrainingMemoryBarelyGrowsWithDepth() {
        int[] depths = {2, 4, 8};
        long[] reversible = new long[depths.length];
        long[] stored = new long[depths.length];
        SplittableRandom rng = new SplittableRandom(61);
        Tensor x = Tensor.randn(rng, 4096, 64).requiresGrad(true);
        Tensor gradOut = Tensor.randn(rng, 4096, 128);
        for (int i = 0; i < depths.length; i++) {
            ReversibleSequence sequence = sequence(depths[i], 64, 0f, MemoryProbe::collectPoint, 62);
            reversible[i] = MemoryProbe.peakBytes(() -> sequence.forward(x, x).backward(gradOut));
            stored[i] = MemoryProbe.peakBytes(() -> storedForward(sequence, x, x).backward(gradOut));
        }
        System.out.printf("Reversible peak forward+backward bytes by depth %s: reversible %s, stored %s%n",
                Arrays.toString(depths), Arrays.toString(reversible),
                Arrays.toString(stored));
        // measured: reversible about 40 MB at every depth; stored 56, 96, 175 MB (about 20 MB a block)
        assertThat((double) reversible[2] / reversible[0]).isLessThan(1.5);
        assertThat((double) stored[2] / stored[0]).isGreaterThan(2.5);
        assertThat(reversible[2]).isLessThan(stored[2] / 3);
    }
}
