package org.xformers4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.cpu.CpuBackend;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

class OptimizerTest {

    private static final int STEPS = 6;
    private static final float[] RATES = {0.01f, 0.02f, 0.015f, 0.005f, 0.03f, 0.01f};

    /** A weight [3, 4] that decays and a bias [4] that does not. */
    static final class WeightAndBias extends Module {
        final Tensor weight;
        final Tensor bias;

        WeightAndBias(SplittableRandom rng) {
            weight = registerParameter("weight", Tensor.randn(rng, 3, 4));
            bias = registerParameter("bias", Tensor.randn(rng, 4), false);
        }
    }

    /** Adam / AdamW in float64, as Kingma and Ba (2015) and Loshchilov and Hutter (2019) write it. */
    static final class ReferenceAdam {
        final double[] p;
        final double[] m;
        final double[] v;
        int t;

        ReferenceAdam(float[] p) {
            this.p = Grads.toDouble(p);
            this.m = new double[p.length];
            this.v = new double[p.length];
        }

        void step(float[] grad, double lr, double beta1, double beta2, double eps, double wd, boolean decoupled) {
            t++;
            for (int i = 0; i < p.length; i++) {
                double g = grad[i];
                if (decoupled) {
                    p[i] -= lr * wd * p[i];
                } else {
                    g += wd * p[i];
                }
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                double mHat = m[i] / (1 - Math.pow(beta1, t));
                double vHat = v[i] / (1 - Math.pow(beta2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
    }

    private static void assertClose(String what, float[] actual, double[] expected) {
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(actual[i] - expected[i]) > 1e-5 * (1 + Math.abs(expected[i]))) {
                fail("%s: element %d is %s, float64 reference %s", what, i, actual[i], expected[i]);
            }
        }
    }

    static Stream<Arguments> adamVariants() {
        return Stream.of(
                Arguments.of(false, 0f),
                Arguments.of(false, 0.1f),
                Arguments.of(true, 0.1f),
                Arguments.of(true, 0f));
    }

    @ParameterizedTest(name = "decoupled={0} weightDecay={1}")
    @MethodSource("adamVariants")
    void adamMatchesFloat64Reference(boolean decoupled, float weightDecay) {
        SplittableRandom rng = new SplittableRandom(1);
        Tensor p = Tensor.randn(rng, 5, 7).requiresGrad(true);
        float beta1 = 0.8f;
        float beta2 = 0.95f;
        float eps = 1e-6f;
        Adam adam = decoupled
                ? new AdamW(List.of(p), RATES[0], beta1, beta2, eps, weightDecay)
                : new Adam(List.of(p), RATES[0], beta1, beta2, eps, weightDecay);
        ReferenceAdam reference = new ReferenceAdam(p.toFloatArray());
        for (int s = 0; s < STEPS; s++) {
            float[] g = Grads.random(rng, p.numel(), 1.0);
            Grads.set(p, g);
            adam.setLearningRate(RATES[s]);
            adam.step();
            reference.step(g, RATES[s], beta1, beta2, eps, weightDecay, decoupled);
            assertClose("Adam step " + (s + 1), p.toFloatArray(), reference.p);
        }
        assertThat(adam.stepCount()).isEqualTo(STEPS);
    }

    static Stream<Arguments> sgdVariants() {
        return Stream.of(
                Arguments.of(0f, 0f, false, 0f),
                Arguments.of(0f, 0f, false, 0.1f),
                Arguments.of(0.9f, 0f, false, 0f),
                Arguments.of(0.9f, 0.5f, false, 0.01f),
                Arguments.of(0.9f, 0f, true, 0.01f));
    }

    @ParameterizedTest(name = "momentum={0} dampening={1} nesterov={2} weightDecay={3}")
    @MethodSource("sgdVariants")
    void sgdMatchesFloat64Reference(float momentum, float dampening, boolean nesterov, float weightDecay) {
        SplittableRandom rng = new SplittableRandom(2);
        Tensor p = Tensor.randn(rng, 4, 6).requiresGrad(true);
        Sgd sgd = new Sgd(List.of(p), RATES[0], momentum, dampening, nesterov, weightDecay);
        double[] ref = Grads.toDouble(p.toFloatArray());
        double[] buf = null;
        for (int s = 0; s < STEPS; s++) {
            float[] g = Grads.random(rng, p.numel(), 1.0);
            Grads.set(p, g);
            sgd.setLearningRate(RATES[s]);
            sgd.step();
            // torch.optim.SGD, in float64
            double[] d = new double[ref.length];
            for (int i = 0; i < ref.length; i++) {
                d[i] = g[i] + weightDecay * ref[i];
            }
            if (momentum != 0) {
                if (buf == null) {
                    buf = d.clone();
                } else {
                    for (int i = 0; i < ref.length; i++) {
                        buf[i] = momentum * buf[i] + (1 - dampening) * d[i];
                    }
                }
                for (int i = 0; i < ref.length; i++) {
                    d[i] = nesterov ? d[i] + momentum * buf[i] : buf[i];
                }
            }
            for (int i = 0; i < ref.length; i++) {
                ref[i] -= RATES[s] * d[i];
            }
            assertClose("SGD step " + (s + 1), p.toFloatArray(), ref);
        }
    }

    @Test
    void adamWSkipsNoDecayParametersOfAModule() {
        float lr = 0.1f;
        float wd = 0.5f;
        WeightAndBias module = new WeightAndBias(new SplittableRandom(3));
        float[] weight = module.weight.toFloatArray();
        float[] bias = module.bias.toFloatArray();
        AdamW adamW = new AdamW(module, lr, 0.9f, 0.999f, 1e-8f, wd);
        for (int s = 0; s < 3; s++) {
            // zero gradients: the Adam part moves nothing, only the decay acts
            Grads.set(module.weight, new float[12]);
            Grads.set(module.bias, new float[4]);
            adamW.step();
        }
        double shrink = Math.pow(1 - lr * wd, 3);
        double[] expected = new double[12];
        for (int i = 0; i < 12; i++) {
            expected[i] = weight[i] * shrink;
        }
        assertClose("decayed weight", module.weight.toFloatArray(), expected);
        assertThat(module.bias.toFloatArray()).containsExactly(bias);
    }

    @Test
    void aListOfParametersDecaysThemAll() {
        WeightAndBias module = new WeightAndBias(new SplittableRandom(4));
        float[] bias = module.bias.toFloatArray();
        Sgd sgd = new Sgd(module.parameters(), 0.1f, 0f, 0f, false, 0.5f);
        Grads.set(module.weight, new float[12]);
        Grads.set(module.bias, new float[4]);
        sgd.step();
        double[] expected = new double[4];
        for (int i = 0; i < 4; i++) {
            expected[i] = bias[i] * 0.95;
        }
        assertClose("decayed bias", module.bias.toFloatArray(), expected);
    }

    @Test
    void sgdFromAModuleSkipsNoDecayParameters() {
        WeightAndBias module = new WeightAndBias(new SplittableRandom(5));
        float[] bias = module.bias.toFloatArray();
        Sgd sgd = new Sgd(module, 0.1f, 0.9f, 0f, true, 0.5f);
        Grads.set(module.weight, new float[12]);
        Grads.set(module.bias, new float[4]);
        sgd.step();
        assertThat(module.bias.toFloatArray()).containsExactly(bias);
    }

    @Test
    void parametersWithoutGradientAreSkippedAndKeepTheirOwnStepCount() {
        SplittableRandom rng = new SplittableRandom(6);
        WeightAndBias module = new WeightAndBias(rng);
        Adam adam = new Adam(module, 0.05f);
        float[] bias = module.bias.toFloatArray();
        ReferenceAdam biasReference = new ReferenceAdam(bias);

        Grads.set(module.weight, Grads.random(rng, 12, 1));
        adam.step();
        assertThat(module.bias.toFloatArray()).as("no gradient, no update").containsExactly(bias);

        float[] g = Grads.random(rng, 4, 1);
        Grads.set(module.bias, g);
        adam.step();
        biasReference.step(g, 0.05, 0.9, 0.999, 1e-8, 0, false);
        assertClose("bias after its first update, at t = 1", module.bias.toFloatArray(), biasReference.p);
    }

    @Test
    void zeroGradForgetsGradients() {
        WeightAndBias module = new WeightAndBias(new SplittableRandom(7));
        Sgd sgd = new Sgd(module, 0.1f);
        Grads.set(module.weight, new float[12]);
        sgd.zeroGrad();
        assertThat(module.weight.grad()).isNull();
    }

    @Test
    void rejectsBadHyperparameters() {
        List<Tensor> params = List.of(Tensor.zeros(2).requiresGrad(true));
        assertThatThrownBy(() -> new Adam(params, -1f, 0.9f, 0.999f, 1e-8f, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Adam: learning rate")
                .hasMessageContaining("-1.0");
        assertThatThrownBy(() -> new AdamW(params, 1e-3f, 1f, 0.999f, 1e-8f, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("AdamW: beta1 must be in [0, 1)");
        assertThatThrownBy(() -> new Adam(params, 1e-3f, 0.9f, -0.1f, 1e-8f, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beta2");
        assertThatThrownBy(() -> new Adam(params, 1e-3f, 0.9f, 0.999f, 0f, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps must be finite and > 0");
        assertThatThrownBy(() -> new AdamW(params, 1e-3f, 0.9f, 0.999f, 1e-8f, -0.01f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weightDecay");
        assertThatThrownBy(() -> new Sgd(params, 0.1f, -0.5f, 0f, false, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("momentum");
        assertThatThrownBy(() -> new Sgd(params, 0.1f, 0.9f, 2f, false, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dampening");
        assertThatThrownBy(() -> new Sgd(params, 0.1f, 0f, 0f, true, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Nesterov");
        assertThatThrownBy(() -> new Sgd(List.of(Tensor.zeros(2)), 0.1f, 0f, 0f, false, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("requires grad");
        assertThatThrownBy(() -> new Sgd(List.of(params.get(0), params.get(0)), 0.1f, 0f, 0f, false, 0f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter 1 is the same tensor as parameter 0");
        Sgd sgd = new Sgd(params, 0.1f, 0f, 0f, false, 0f);
        assertThatThrownBy(() -> sgd.setLearningRate(Float.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    }

    @Test
    void kernelsGiveTheSameBitsOnOneAndTwoThreads() {
        CpuBackend one = new CpuBackend(new Parallel(1), Sgemm.best());
        CpuBackend two = new CpuBackend(new Parallel(2), Sgemm.best());
        SplittableRandom rng = new SplittableRandom(8);
        int n = 100_000; // more than one chunk of the kernels' grain
        float[] p = Grads.random(rng, n, 1);
        float[] g = Grads.random(rng, n, 1);
        float[][] results = new float[2][];
        CpuBackend[] backends = {one, two};
        for (int b = 0; b < 2; b++) {
            CpuBackend backend = backends[b];
            Buffer param = backend.upload(p);
            Buffer grad = backend.upload(g);
            Buffer m = backend.allocate(n);
            Buffer v = backend.allocate(n);
            Buffer momentum = backend.allocate(n);
            for (int t = 1; t <= 3; t++) {
                backend.adamStep(param, grad, m, v, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, t);
                backend.sgdStep(param, grad, momentum, n, 1e-2f, 0.9f, 0f, true, 1e-4f, t == 1);
            }
            results[b] = backend.download(param, n);
        }
        assertThat(Arrays.mismatch(results[0], results[1])).as("first element that differs").isEqualTo(-1);
        assertThat(Arrays.mismatch(results[0], p)).as("the parameter was updated").isEqualTo(0);
    }
}
