package org.xformers4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xformers4j.nn.FeedForward;

class ActivationCheckpointTest {

    private final SplittableRandom rng = new SplittableRandom(11);

    /** out = tanh(x W) ∘ y + x.sum(1) for x [3, 4], W [4, 5] (read from outside, a parameter), y [3, 5]. */
    private static Tensor f(Tensor x, Tensor y, Tensor w) {
        return x.matmul(w).tanh().mul(y).add(x.sum(1, true));
    }

    /** {@link #f} in double precision on row-major x, y, W. */
    private static double[] reference(double[] x, double[] y, double[] w) {
        double[] out = new double[15];
        for (int i = 0; i < 3; i++) {
            double rowSum = 0;
            for (int c = 0; c < 4; c++) {
                rowSum += x[i * 4 + c];
            }
            for (int j = 0; j < 5; j++) {
                double dot = 0;
                for (int c = 0; c < 4; c++) {
                    dot += x[i * 4 + c] * w[c * 5 + j];
                }
                out[i * 5 + j] = Math.tanh(dot) * y[i * 5 + j] + rowSum;
            }
        }
        return out;
    }

    @Test
    void gradientsOfInputsAndParametersMatchFiniteDifferencesOfAFloat64Reference() {
        Tensor x = GradCheck.input(rng, 3, 4);
        Tensor y = GradCheck.input(rng, 3, 5);
        Tensor w = GradCheck.input(rng, 4, 5);
        GradCheck.of("checkpointed tanh(xW)∘y + Σx", in -> ActivationCheckpoint.apply(
                        args -> f(args[0], args[1], in[2]), List.of(in[2]), List.of(), in[0], in[1]),
                ref -> reference(ref[0], ref[1], ref[2]), x, y, w).check();

        Tensor constant = Tensor.randn(rng, 3, 5);            // an input that needs no gradient
        GradCheck.of("checkpointed with y constant", in -> ActivationCheckpoint.apply(
                        args -> f(args[0], args[1], in[1]), List.of(in[1]), List.of(), in[0], constant),
                ref -> reference(ref[0], toDouble(constant), ref[1]), x, w).check();
    }

    private static double[] toDouble(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Test
    void outputAndGradientsEqualThePlainComputationBitForBitAndTheFunctionRunsTwice() {
        Tensor x = GradCheck.input(rng, 3, 4);
        Tensor y = Tensor.randn(rng, 3, 5);                    // needs no gradient
        Tensor w = GradCheck.input(rng, 4, 5);
        Tensor gradOut = Tensor.randn(rng, 3, 5);

        Tensor plain = f(x, y, w);
        plain.backward(gradOut);
        float[] dx = x.grad().toFloatArray();
        float[] dw = w.grad().toFloatArray();
        x.zeroGrad();
        w.zeroGrad();

        AtomicInteger calls = new AtomicInteger();
        Tensor checkpointed = ActivationCheckpoint.apply(in -> {
            if (calls.incrementAndGet() == 2) {
                assertThat(in[0]).isNotSameAs(x);              // a detached copy in the recomputation
            }
            return f(in[0], in[1], w);
        }, List.of(w), List.of(), x, y);
        assertThat(checkpointed.gradFnName()).isEqualTo("ActivationCheckpoint");
        assertThat(calls).hasValue(1);
        assertThat(checkpointed.toFloatArray()).containsExactly(plain.toFloatArray());
        checkpointed.backward(gradOut);
        assertThat(calls).hasValue(2);
        assertThat(x.grad().toFloatArray()).containsExactly(dx);
        assertThat(w.grad().toFloatArray()).containsExactly(dw);
        assertThat(y.grad()).isNull();
    }

    @Test
    void withoutRecordingOrWithoutAnythingThatNeedsAGradientTheFunctionJustRuns() {
        Tensor x = GradCheck.input(rng, 3, 4);
        Tensor w = GradCheck.input(rng, 4, 5);
        Tensor y = Tensor.randn(rng, 3, 5);
        AtomicInteger calls = new AtomicInteger();
        Function<Tensor[], Tensor> counted = in -> {
            calls.incrementAndGet();
            return f(in[0], in[1], in[2]);
        };
        Tensor plain;
        Tensor checkpointed;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            plain = f(x, y, w);
            checkpointed = ActivationCheckpoint.apply(counted, List.of(), List.of(), x, y, w);
        }
        assertThat(checkpointed.isLeaf()).isTrue();
        assertThat(checkpointed.requiresGrad()).isFalse();
        assertThat(checkpointed.toFloatArray()).containsExactly(plain.toFloatArray());
        assertThat(calls).hasValue(1);

        Tensor frozen = Tensor.randn(rng, 4, 5);
        Tensor constant = ActivationCheckpoint.apply(counted, List.of(frozen), List.of(), y.narrow(1, 0, 4).add(0f),
                y, frozen);
        assertThat(constant.requiresGrad()).isFalse();
        assertThat(calls).hasValue(2);
    }

    @Test
    void aTensorGivenAsTwoInputsStaysOneTensorAndGetsItsGradientOnce() {
        Tensor x = GradCheck.input(rng, 4, 4);
        Function<Tensor[], Tensor> square = in -> {
            assertThat(in[1]).isSameAs(in[0]);
            return in[0].matmul(in[1]);
        };
        Tensor gradOut = Tensor.randn(rng, 4, 4);
        x.matmul(x).backward(gradOut);
        float[] expected = x.grad().toFloatArray();
        x.zeroGrad();
        ActivationCheckpoint.apply(square, List.of(), List.of(), x, x).backward(gradOut);
        assertThat(x.grad().toFloatArray()).containsExactly(expected);
    }

    @Test
    void nestedCheckpointsGiveThePlainGradients() {
        Tensor x = GradCheck.input(rng, 3, 4);
        Tensor w = GradCheck.input(rng, 4, 4);
        Function<Tensor, Tensor> layer = t -> t.matmul(w).tanh().add(t);
        Tensor gradOut = Tensor.randn(rng, 3, 4);
        layer.apply(layer.apply(x)).backward(gradOut);
        float[] dx = x.grad().toFloatArray();
        float[] dw = w.grad().toFloatArray();
        x.zeroGrad();
        w.zeroGrad();
        Tensor nested = ActivationCheckpoint.apply(outer -> layer.apply(ActivationCheckpoint.apply(
                inner -> layer.apply(inner[0]), List.of(w), List.of(), outer[0])), List.of(w), List.of(), x);
        nested.backward(gradOut);
        assertThat(x.grad().toFloatArray()).containsExactly(dx);
        assertThat(w.grad().toFloatArray()).containsExactly(dw);
    }

    /**
     * Two feed-forwards with hidden dropout 0.5 built from one seed: the checkpointed one's
     * recomputation draws the masks its forward drew, so output and gradients equal the plain one's,
     * and its generators end where the plain one's do (the next masks agree too).
     */
    @Test
    void theRecomputationDrawsTheForwardPassesDropoutMasksAndLeavesTheGeneratorsWhereTheyWere() {
        FeedForward plainLayer = new FeedForward(6, 16, FeedForward.Activation.GELU, true, 0.5f,
                new SplittableRandom(5));
        FeedForward checkpointedLayer = new FeedForward(6, 16, FeedForward.Activation.GELU, true, 0.5f,
                new SplittableRandom(5));
        assertThat(checkpointedLayer.replayableStates()).hasSize(1);
        Tensor x = GradCheck.input(rng, 2, 3, 6);
        Tensor gradOut = Tensor.randn(rng, 2, 3, 6);

        List<float[]> plain = new ArrayList<>();
        for (int step = 0; step < 2; step++) {
            Tensor out = plainLayer.forward(x);
            out.backward(gradOut);
            plain.add(out.toFloatArray());
            plain.add(x.grad().toFloatArray());
            plainLayer.namedParameters().values().forEach(p -> plain.add(p.grad().toFloatArray()));
            plainLayer.zeroGrad();
            x.zeroGrad();
        }
        List<float[]> checkpointed = new ArrayList<>();
        for (int step = 0; step < 2; step++) {
            Tensor out = ActivationCheckpoint.apply(in -> checkpointedLayer.forward(in[0]),
                    checkpointedLayer.parameters(), checkpointedLayer.replayableStates(), x);
            out.backward(gradOut);
            checkpointed.add(out.toFloatArray());
            checkpointed.add(x.grad().toFloatArray());
            checkpointedLayer.namedParameters().values().forEach(p -> checkpointed.add(p.grad().toFloatArray()));
            checkpointedLayer.zeroGrad();
            x.zeroGrad();
        }
        assertThat(checkpointed).hasSameSizeAs(plain);
        for (int i = 0; i < plain.size(); i++) {
            assertThat(checkpointed.get(i)).as("tensor " + i).containsExactly(plain.get(i));
        }
        assertThat(plain.get(plain.size() / 2)).isNotEqualTo(plain.get(0));    // the second step drew other masks
    }

    @Test
    void withoutItsGeneratorsTheRecomputationDrawsOtherMasks() {
        FeedForward layer = new FeedForward(6, 16, FeedForward.Activation.RELU, true, 0.5f, new SplittableRandom(5));
        FeedForward twin = new FeedForward(6, 16, FeedForward.Activation.RELU, true, 0.5f, new SplittableRandom(5));
        Tensor x = GradCheck.input(rng, 2, 3, 6);
        Tensor gradOut = Tensor.randn(rng, 2, 3, 6);
        twin.forward(x).backward(gradOut);
        float[] expected = x.grad().toFloatArray();
        x.zeroGrad();
        ActivationCheckpoint.apply(in -> layer.forward(in[0]), layer.parameters(), List.of(), x).backward(gradOut);
        assertThat(x.grad().toFloatArray()).isNotEqualTo(expected);
    }

    @Test
    void aFunctionThatChangesShapeInItsRecomputationIsRefused() {
        Tensor x = GradCheck.input(rng, 4, 4);
        AtomicInteger calls = new AtomicInteger();
        Tensor out = ActivationCheckpoint.apply(in -> calls.getAndIncrement() == 0 ? in[0].sum(0, false)
                : in[0].sum(1, true), List.of(), List.of(), x);
        assertThatThrownBy(() -> out.backward(Tensor.randn(rng, 4))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("recomputation returned shape [4, 1], the forward pass [4]");
    }
}
