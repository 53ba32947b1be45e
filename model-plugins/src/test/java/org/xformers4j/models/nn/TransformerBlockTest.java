package org.xformers4j.models.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.ParameterState;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class TransformerBlockTest {

    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int HIDDEN = 12;

    private static BlockConfig.Builder tiny() {
        return BlockConfig.builder(DIM, HEADS).hidden(HIDDEN).activation(FeedForward.Activation.SWIGLU);
    }

    private static TransformerBlock block(BlockConfig config, long seed) {
        return new TransformerBlock(config, new FullAttention(0f), null, new SplittableRandom(seed));
    }

    // ------------------------------------------------------------------ gradients against float64

    @ParameterizedTest
    @CsvSource({"PRE, LAYER", "POST, LAYER", "SANDWICH, LAYER", "PRE, RMS", "SANDWICH, SCALE", "POST, SCALE"})
    void matchesFloat64ReferenceWithGradients(NormPlacement placement, NormKind norm) {
        SplittableRandom rng = new SplittableRandom(3);
        TransformerBlock block = block(tiny().placement(placement).norm(norm).build(), 11);
        randomize(block, rng);
        Tensor x = GradCheck.input(rng, 2, 3, DIM);
        Reference reference = new Reference(placement, norm, 2, 3, List.copyOf(block.namedParameters().keySet()));
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(block.parameters());
        GradCheck.of("TransformerBlock " + placement + " " + norm, in -> block.forward(in[0], AttentionContext.none()),
                reference::forward, inputs.toArray(new Tensor[0])).check();
    }

    @ParameterizedTest
    @CsvSource({"1", "4", "7", "100"})
    void feedForwardChunkingKeepsOutputsAndGradients(int chunkSize) {
        SplittableRandom rng = new SplittableRandom(5);
        float[] data = Tensor.randn(rng, 2, 5, DIM).toFloatArray();
        Tensor weights = Tensor.randn(rng, 2, 5, DIM);
        TransformerBlock plain = block(tiny().build(), 21);
        TransformerBlock chunked = block(tiny().feedForwardChunkSize(chunkSize).build(), 21);
        Tensor x = Tensor.of(data, 2, 5, DIM).requiresGrad(true);
        Tensor xChunked = Tensor.of(data, 2, 5, DIM).requiresGrad(true);

        Tensor expected = plain.forward(x, AttentionContext.none());
        expected.mul(weights).sum().backward();
        Tensor actual = chunked.forward(xChunked, AttentionContext.none());
        actual.mul(weights).sum().backward();

        ChunkedFeedForwardTest.assertClose("output", actual, expected, 1e-6f);
        ChunkedFeedForwardTest.assertClose("input grad", xChunked.grad(), x.grad(), 1e-5f);
        plain.namedParameters().forEach((name, p) -> ChunkedFeedForwardTest.assertClose(name + " grad",
                chunked.namedParameters().get(name).grad(), p.grad(), 1e-5f));
        assertThatThrownBy(() -> tiny().feedForwardChunkSize(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("feedForwardChunkSize")
                .hasMessageContaining("-1");
    }

    @Test
    void parametersAreNamedAfterTheSublayers() {
        TransformerBlock pre = block(tiny().build(), 1);
        assertThat(pre.namedParameters().keySet()).containsExactly(
                "attentionNorm.weight", "attentionNorm.bias",
                "attention.query.weight", "attention.query.bias", "attention.key.weight", "attention.key.bias",
                "attention.value.weight", "attention.value.bias", "attention.output.weight", "attention.output.bias",
                "feedForwardNorm.weight", "feedForwardNorm.bias",
                "feedForward.gate.weight", "feedForward.gate.bias", "feedForward.up.weight", "feedForward.up.bias",
                "feedForward.down.weight", "feedForward.down.bias");
        TransformerBlock sandwich = block(tiny().placement(NormPlacement.SANDWICH).norm(NormKind.RMS).build(), 1);
        assertThat(sandwich.namedParameters().keySet()).contains("attentionOutputNorm.weight",
                "feedForwardOutputNorm.weight").doesNotContain("attentionNorm.bias");
    }

    @Test
    void configRejectsBadFieldsByName() {
        assertThatThrownBy(() -> BlockConfig.builder(10, 4).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelDim 10")
                .hasMessageContaining("heads 4");
        assertThatThrownBy(() -> tiny().dropPath(1f).build()).hasMessageContaining("dropPath").hasMessageContaining("1.0");
        assertThatThrownBy(() -> tiny().residualDropout(-0.1f).build()).hasMessageContaining("residualDropout");
        assertThatThrownBy(() -> tiny().hidden(0).build()).hasMessageContaining("hidden");
    }

    // ------------------------------------------------------------------ stochastic depth and dropout

    @Test
    void evaluationIgnoresDropPathAndDropoutButKeepsTheBranches() {
        Tensor x = Tensor.randn(new SplittableRandom(5), 4, 3, DIM);
        TransformerBlock noisy = block(tiny().dropPath(0.5f).residualDropout(0.3f).build(), 21);
        TransformerBlock plain = block(tiny().build(), 21);     // same seed: same weights
        noisy.eval();
        plain.eval();
        float[] first = noisy.forward(x, AttentionContext.none()).toFloatArray();
        assertThat(noisy.forward(x, AttentionContext.none()).toFloatArray()).containsExactly(first);
        assertThat(first).containsExactly(plain.forward(x, AttentionContext.none()).toFloatArray());
        assertThat(maxAbsDiff(first, x.toFloatArray())).isGreaterThan(1e-2);
    }

    @Test
    void dropPathDropsWholeBranchesAtTheConfiguredRate() {
        // With both sublayers dropped a pre-norm block is the identity for that sample: P = p².
        int batch = 400;
        float p = 0.5f;
        Tensor x = Tensor.randn(new SplittableRandom(6), batch, 3, DIM);
        TransformerBlock block = block(tiny().dropPath(p).build(), 31);
        float[] in = x.toFloatArray();
        float[] out = block.forward(x, AttentionContext.none()).toFloatArray();
        int identities = 0;
        int row = 3 * DIM;
        for (int b = 0; b < batch; b++) {
            if (Arrays.equals(Arrays.copyOfRange(in, b * row, (b + 1) * row),
                    Arrays.copyOfRange(out, b * row, (b + 1) * row))) {
                identities++;
            }
        }
        double expected = batch * p * p;
        double sigma = Math.sqrt(batch * p * p * (1 - p * p));
        assertThat((double) identities).isBetween(expected - 4 * sigma, expected + 4 * sigma);
    }

    @Test
    void stochasticDepthKeepsSamplesWithProbabilityOneMinusPScaled() {
        int batch = 4000;
        float p = 0.3f;
        StochasticDepth layer = new StochasticDepth(p, 9);
        float[] out = layer.forward(Tensor.ones(batch, 2, 3)).toFloatArray();
        int dropped = 0;
        for (int b = 0; b < batch; b++) {
            float v = out[b * 6];
            for (int i = 0; i < 6; i++) {
                assertThat(out[b * 6 + i]).as("sample %d is dropped or kept as a whole", b).isEqualTo(v);
            }
            if (v == 0f) {
                dropped++;
            } else {
                assertThat(v).isEqualTo(1f / (1f - p));
            }
        }
        double sigma = Math.sqrt(batch * p * (1 - p));
        assertThat((double) dropped).isBetween(batch * p - 4 * sigma, batch * p + 4 * sigma);

        layer.eval();
        assertThat(layer.forward(Tensor.ones(batch, 2, 3)).toFloatArray()).containsOnly(1f);
        assertThatThrownBy(() -> new StochasticDepth(1f, 0)).hasMessageContaining("p must be in [0, 1), got 1.0");
    }

    @Test
    void stochasticDepthGradientFollowsTheMask() {
        Tensor x = Tensor.randn(new SplittableRandom(2), 64, 3).requiresGrad(true);
        Tensor y = new StochasticDepth(0.5f, 4).forward(x);
        y.sum().backward();
        float[] out = y.toFloatArray();
        float[] grad = x.grad().toFloatArray();
        for (int i = 0; i < out.length; i++) {
            assertThat(grad[i]).isEqualTo(out[i] == 0f ? 0f : 2f);
        }
    }

    @Test
    void sameSeedGivesTheSameDropsAndDropoutMasks() {
        Tensor x = Tensor.randn(new SplittableRandom(8), 16, 3, DIM);
        BlockConfig config = tiny().dropPath(0.3f).residualDropout(0.2f).build();
        TransformerBlock a = block(config, 41);
        TransformerBlock b = block(config, 41);
        float[] a1 = a.forward(x, AttentionContext.none()).toFloatArray();
        float[] a2 = a.forward(x, AttentionContext.none()).toFloatArray();
        assertThat(b.forward(x, AttentionContext.none()).toFloatArray()).containsExactly(a1);
        assertThat(b.forward(x, AttentionContext.none()).toFloatArray()).containsExactly(a2);
        assertThat(maxAbsDiff(a1, a2)).as("successive calls draw new masks").isGreaterThan(1e-3);
        float[] other = block(config, 42).forward(x, AttentionContext.none()).toFloatArray();
        assertThat(maxAbsDiff(a1, other)).isGreaterThan(1e-3);
    }

    @Test
    void residualDropoutIsSeededAndActiveOnlyInTraining() {
        Tensor x = Tensor.randn(new SplittableRandom(12), 2, 3, DIM);
        BlockConfig config = tiny().residualDropout(0.4f).build();
        TransformerBlock a = block(config, 51);
        TransformerBlock b = block(config, 51);
        float[] trained = a.forward(x, AttentionContext.none()).toFloatArray();
        assertThat(b.forward(x, AttentionContext.none()).toFloatArray()).containsExactly(trained);
        a.eval();
        float[] evaluated = a.forward(x, AttentionContext.none()).toFloatArray();
        assertThat(maxAbsDiff(trained, evaluated)).isGreaterThan(1e-3);
        assertThat(evaluated).containsExactly(block(tiny().build(), 51).forward(x, AttentionContext.none())
                .toFloatArray());
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** Every parameter from N(0, 0.5²), so that norm gains and biases are exercised too. */
    static void randomize(Module module, SplittableRandom rng) {
        Map<String, ParameterState> state = module.stateDict();
        state.replaceAll((name, s) -> {
            float[] values = new float[s.values().length];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (0.5 * rng.nextGaussian());
            }
            return new ParameterState(s.shape(), values);
        });
        module.loadStateDict(state);
    }

    // ------------------------------------------------------------------ float64 reference

    /**
     * The block in float64 with plain loops, softmax attention and a SwiGLU feed-forward; the
     * parameters are looked up by name among {@code names} (GradCheck's input order after x).
     */
    private record Reference(NormPlacement placement, NormKind norm, int batch, int length, List<String> names) {

        double[] forward(double[][] in) {
            double[] x = in[0];
            double[] h = sublayer(in, x, "attention", this::attention);
            return sublayer(in, h, "feedForward", this::feedForward);
        }

        private interface Sublayer {
            double[] apply(double[][] in, double[] x);
        }

        private double[] sublayer(double[][] in, double[] x, String name, Sublayer f) {
            return switch (placement) {
                case PRE -> add(x, f.apply(in, norm(in, name + "Norm", x)));
                case POST -> norm(in, name + "Norm", add(x, f.apply(in, x)));
                case SANDWICH -> add(x, norm(in, name + "OutputNorm", f.apply(in, norm(in, name + "Norm", x))));
            };
        }

        private double[] parameter(double[][] in, String name) {
            int i = names.indexOf(name);
            return i < 0 ? null : in[1 + i];
        }

        private double[] norm(double[][] in, String prefix, double[] x) {
            double[] y = new double[x.length];
            for (int r = 0; r < x.length / DIM; r++) {
                double mean = 0;
                double square = 0;
                for (int e = 0; e < DIM; e++) {
                    mean += x[r * DIM + e] / DIM;
                    square += x[r * DIM + e] * x[r * DIM + e];
                }
                for (int e = 0; e < DIM; e++) {
                    double v = x[r * DIM + e];
                    switch (norm) {
                        case LAYER: {
                            double variance = square / DIM - mean * mean;
                            y[r * DIM + e] = (v - mean) / Math.sqrt(variance + 1e-5)
                                    * parameter(in, prefix + ".weight")[e] + parameter(in, prefix + ".bias")[e];
                            break;
                        }
                        case RMS:
                            y[r * DIM + e] = v / Math.sqrt(square / DIM + 1e-6) * parameter(in, prefix + ".weight")[e];
                            break;
                        default:
                            y[r * DIM + e] = parameter(in, prefix + ".g")[0] * v / Math.max(Math.sqrt(square), 1e-5);
                    }
                }
            }
            return y;
        }

        private double[] attention(double[][] in, double[] x) {
            int rows = batch * length;
            int d = DIM / HEADS;
            double[] q = linear(in, "attention.query", x, rows, DIM, DIM);
            double[] k = linear(in, "attention.key", x, rows, DIM, DIM);
            double[] v = linear(in, "attention.value", x, rows, DIM, DIM);
            double[] merged = new double[rows * DIM];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < HEADS; h++) {
                    for (int i = 0; i < length; i++) {
                        double[] w = new double[length];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < length; j++) {
                            double s = 0;
                            for (int e = 0; e < d; e++) {
                                s += q[(b * length + i) * DIM + h * d + e] * k[(b * length + j) * DIM + h * d + e];
                            }
                            w[j] = s / Math.sqrt(d);
                            max = Math.max(max, w[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j < length; j++) {
                            w[j] = Math.exp(w[j] - max);
                            sum += w[j];
                        }
                        for (int j = 0; j < length; j++) {
                            for (int e = 0; e < d; e++) {
                                merged[(b * length + i) * DIM + h * d + e] += w[j] / sum
                                        * v[(b * length + j) * DIM + h * d + e];
                            }
                        }
                    }
                }
            }
            return linear(in, "attention.output", merged, rows, DIM, DIM);
        }

        /** SwiGLU: (silu(x W_gate) ⊙ x W_up) W_down. */
        private double[] feedForward(double[][] in, double[] x) {
            int rows = batch * length;
            double[] gate = linear(in, "feedForward.gate", x, rows, DIM, HIDDEN);
            double[] up = linear(in, "feedForward.up", x, rows, DIM, HIDDEN);
            double[] hidden = new double[gate.length];
            for (int i = 0; i < hidden.length; i++) {
                hidden[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            }
            return linear(in, "feedForward.down", hidden, rows, HIDDEN, DIM);
        }

        /** y[r, o] = Σ_i x[r, i] w[o, i] + b[o]. */
        private double[] linear(double[][] in, String prefix, double[] x, int rows, int inDim, int outDim) {
            double[] w = parameter(in, prefix + ".weight");
            double[] bias = parameter(in, prefix + ".bias");
            double[] y = new double[rows * outDim];
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < outDim; o++) {
                    double s = bias[o];
                    for (int i = 0; i < inDim; i++) {
                        s += x[r * inDim + i] * w[o * inDim + i];
                    }
                    y[r * outDim + o] = s;
                }
            }
            return y;
        }

        private static double[] add(double[] a, double[] b) {
            double[] y = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                y[i] = a[i] + b[i];
            }
            return y;
        }
    }
}
