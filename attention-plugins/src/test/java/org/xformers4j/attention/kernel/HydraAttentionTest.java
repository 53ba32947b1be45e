package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.toDouble;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

class HydraAttentionTest {

    private static final float EPS = 1e-6f;

    /**
     * The paper's equations in float64, written out element by element: φ(x) = x / sqrt(|x|² + eps),
     * out_i[h] = φ(q_i)[h] · Σ_j φ(k_j)[h] ⊗ v_j[h] over the g = gcd(D, Dv) heads of D/g and Dv/g
     * features (for D = Dv: out_i = φ(q_i) ⊙ Σ_j φ(k_j) ⊙ v_j), j over the unpadded keys, and with a
     * causal context only up to the end-aligned position of query i.
     */
    static double[] reference(double[] q, double[] k, double[] v, boolean[][] padded, boolean causal,
                              int batch, int heads, int lq, int lk, int d, int dv) {
        int g = gcd(d, dv);
        int a = d / g;
        int b = dv / g;
        double[] out = new double[batch * heads * lq * dv];
        for (int n = 0; n < batch; n++) {
            for (int h = 0; h < heads; h++) {
                int bh = n * heads + h;
                for (int i = 0; i < lq; i++) {
                    double[] pq = phi(q, (bh * lq + i) * d, d);
                    int last = causal ? lk - lq + i : lk - 1;
                    for (int j = 0; j <= last; j++) {
                        if (padded != null && padded[n][j]) {
                            continue;
                        }
                        double[] pk = phi(k, (bh * lk + j) * d, d);
                        for (int head = 0; head < g; head++) {
                            double dot = 0;
                            for (int f = 0; f < a; f++) {
                                dot += pq[head * a + f] * pk[head * a + f];
                            }
                            for (int c = 0; c < b; c++) {
                                out[(bh * lq + i) * dv + head * b + c] += dot * v[(bh * lk + j) * dv + head * b + c];
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private static double[] phi(double[] x, int offset, int d) {
        double norm = 0;
        for (int f = 0; f < d; f++) {
            norm += x[offset + f] * x[offset + f];
        }
        double s = 1 / Math.sqrt(norm + EPS);
        double[] out = new double[d];
        for (int f = 0; f < d; f++) {
            out[f] = x[offset + f] * s;
        }
        return out;
    }

    private static int gcd(int x, int y) {
        return y == 0 ? x : gcd(y, x % y);
    }





    private static void assertMatchesReference(String what, int batch, int heads, int lq, int lk, int d, int dv,
                                               boolean[][] padded, boolean causal, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, batch, heads, lq, d);
        Tensor k = Tensor.randn(rng, batch, heads, lk, d);
        Tensor v = Tensor.randn(rng, batch, heads, lk, dv);
        float[] actual = new HydraAttention(EPS).forward(q, k, v, paddedContext(padded, causal)).toFloatArray();
        double[] expected = reference(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()),
                toDouble(v.toFloatArray()), padded, causal, batch, heads, lq, lk, d, dv);
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("%s element %d", what, e)
                    .isCloseTo(expected[e], org.assertj.core.api.Assertions.within(1e-5 * (1 + Math.abs(expected[e]))));
        }
    }

    @Test
    void aRecurrentStepContinuingAStateIsTheReferenceOverEveryKeyWithItsGradients() {
        for (int[] dims : new int[][] {{4, 4}, {4, 6}}) {
            for (boolean causal : new boolean[] {true, false}) {
                RecurrentSteps.checkContinuingAState("hydra d=" + dims[0] + " dv=" + dims[1], new HydraAttention(EPS),
                        (q, k, v, lq, lk, c, padded) -> reference(q, k, v, padded, c, 2, 3, lq, lk, dims[0], dims[1]),
                        2, 3, dims[0], dims[1], causal, 70 + dims[1]);
            }
        }
    }

    @Test
    void forwardEqualsTheFloat64ReferenceOfThePaperEquations() {
        long seed = 1;
        for (int length : new int[] {1, 2, 7, 16, 33}) {
            for (int[] dims : new int[][] {{8, 8}, {1, 1}, {4, 3}, {6, 4}, {4, 8}}) {
                String shape = "L=" + length + " d=" + dims[0] + " dv=" + dims[1];
                assertMatchesReference(shape, 2, 3, length, length, dims[0], dims[1], null, false, seed++);
                assertMatchesReference("causal " + shape, 2, 3, length, length, dims[0], dims[1], null, true, seed++);
                assertMatchesReference("padded " + shape, 2, 2, length, length, dims[0], dims[1],
                        padLast(2, length, length / 2), false, seed++);
                assertMatchesReference("causal padded " + shape, 2, 2, length, length, dims[0], dims[1],
                        padLast(2, length, length / 3), true, seed++);
            }
        }
    }

    @Test
    void oneHeadOfTheModelWidthIsThePapersHydra() {
        // heads = 1, headDim = modelDim: out = φ(Q) ⊙ Σ_t φ(K)_t ⊙ V_t, with every feature its own head
        SplittableRandom rng = new SplittableRandom(5);
        Tensor q = Tensor.randn(rng, 1, 1, 10, 32);
        Tensor k = Tensor.randn(rng, 1, 1, 10, 32);
        Tensor v = Tensor.randn(rng, 1, 1, 10, 32);
        float[] out = new HydraAttention(EPS).forward(q, k, v, AttentionContext.none()).toFloatArray();
        double[] qd = toDouble(q.toFloatArray());
        double[] kd = toDouble(k.toFloatArray());
        double[] vd = toDouble(v.toFloatArray());
        double[] global = new double[32];
        for (int t = 0; t < 10; t++) {
            double[] pk = phi(kd, t * 32, 32);
            for (int f = 0; f < 32; f++) {
                global[f] += pk[f] * vd[t * 32 + f];
            }
        }
        for (int t = 0; t < 10; t++) {
            double[] pq = phi(qd, t * 32, 32);
            for (int f = 0; f < 32; f++) {
                assertThat((double) out[t * 32 + f]).isCloseTo(pq[f] * global[f],
                        org.assertj.core.api.Assertions.within(1e-5));
            }
        }
    }

    @Test
    void crossAttentionHasAnyNumberOfQueriesAndCausalQueriesAreEndAligned() {
        long seed = 100;
        for (int lq : new int[] {1, 3, 9}) {
            for (int lk : new int[] {1, 4, 12}) {
                assertMatchesReference("cross Lq=" + lq + " Lk=" + lk, 2, 2, lq, lk, 4, 4, null, false, seed++);
                assertMatchesReference("cross padded Lq=" + lq + " Lk=" + lk, 2, 2, lq, lk, 4, 2,
                        padLast(2, lk, lk / 2), false, seed++);
                if (lq <= lk) {
                    assertMatchesReference("causal Lq=" + lq + " Lk=" + lk, 2, 2, lq, lk, 4, 4, null, true, seed++);
                }
            }
        }
        Tensor q = Tensor.zeros(1, 1, 5, 4);
        Tensor k = Tensor.zeros(1, 1, 3, 4);
        assertThatThrownBy(() -> new HydraAttention(EPS).forward(q, k, k, AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("end-aligned");
    }

    @Test
    void gradientsMatchFloat64FiniteDifferencesOfTheReference() {
        long seed = 200;
        for (boolean causal : new boolean[] {false, true}) {
            for (int[] dims : new int[][] {{4, 4}, {4, 3}}) {
                int batch = 2;
                int heads = 2;
                int length = 6;
                boolean[][] padded = padLast(batch, length, 2);
                SplittableRandom rng = new SplittableRandom(seed++);
                Tensor q = Tensor.randn(rng, batch, heads, length, dims[0]).requiresGrad(true);
                Tensor k = Tensor.randn(rng, batch, heads, length, dims[0]).requiresGrad(true);
                Tensor v = Tensor.randn(rng, batch, heads, length, dims[1]).requiresGrad(true);
                HydraAttention hydra = new HydraAttention(EPS);
                AttentionContext context = paddedContext(padded, causal);
                GradientCheck.Result r = GradientCheck.of("hydra causal=" + causal + " dims=" + dims[0] + "," + dims[1],
                        in -> hydra.forward(in[0], in[1], in[2], context),
                        x -> reference(x[0], x[1], x[2], padded, causal, batch, heads, length, length, dims[0], dims[1]),
                        q, k, v).run();
                assertThat(r.passed()).as(r.detail()).isTrue();
            }
        }
    }

    @Test
    void paddedKeysHaveNoInfluenceAndFullyPaddedQueriesOutputZeros() {
        SplittableRandom rng = new SplittableRandom(300);
        Tensor q = Tensor.randn(rng, 2, 2, 6, 4);
        Tensor k = Tensor.randn(rng, 2, 2, 6, 4);
        Tensor v = Tensor.randn(rng, 2, 2, 6, 4);
        boolean[][] padded = {{true, true, true, true, true, true}, {false, false, false, true, true, true}};
        HydraAttention hydra = new HydraAttention(EPS);
        float[] out = hydra.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
        Tensor k2 = shiftPadded(k, padded, 3f, 1f);
        Tensor v2 = shiftPadded(v, padded, -5f, 0f);
        float[] changed = hydra.forward(q, k2, v2, paddedContext(padded, false))
                .toFloatArray();
        for (int e = 0; e < out.length; e++) {
            assertThat(Math.abs(changed[e] - out[e])).as("element %d", e).isEqualTo(0f);
        }
        for (int e = 0; e < 2 * 6 * 4; e++) {
            assertThat(out[e]).as("batch element 0 is all padding: element %d", e).isZero();
        }
    }

    @Test
    void refusesBiasDropoutAndBadShapesNamingThem() {
        Tensor q = Tensor.zeros(1, 1, 4, 4);
        HydraAttention hydra = new HydraAttention(EPS);
        assertThatThrownBy(() -> hydra.forward(q, q, q, AttentionContext.builder().bias(Tensor.zeros(1, 1, 4, 4)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias");
        assertThatThrownBy(() -> hydra.forward(q, q, q,
                AttentionContext.builder().dropout(0.1f, new SplittableRandom(1)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dropout");
        assertThatThrownBy(() -> hydra.forward(q, Tensor.zeros(1, 1, 4, 5), q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 1, 4, 5]");
    }

    /** Bytes the backend allocates for one forward and backward at length {@code n} (B=1, H=1, D=Dv=8). */
    private static long allocatedBytes(int n, boolean causal) {
        SplittableRandom rng = new SplittableRandom(n);
        Tensor q = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        Tensor k = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        Tensor v = Tensor.randn(rng, 1, 1, n, 8).requiresGrad(true);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        new HydraAttention(EPS).forward(q, k, v, AttentionContext.builder().causal(causal).build()).sum().backward();
        return memory.allocatedBytesSinceReset();
    }

    @Test
    void neverAllocatesAnNByNBufferAndGrowsLinearly() {
        int n = 2048;
        for (boolean causal : new boolean[] {false, true}) {
            long allocated = allocatedBytes(n, causal);
            // every buffer is [n, 8] or smaller: all of them together stay below one n x n float buffer (16 MiB)
            assertThat(allocated).as("bytes allocated by forward and backward, causal=%s", causal)
                    .isLessThan((long) n * n * Float.BYTES / 4);
            // four times the length, at most about four times the bytes (quadratic would be 16 times)
            assertThat((double) allocatedBytes(4 * n, causal) / allocated).as("growth from N to 4N, causal=%s", causal)
                    .isLessThan(4.5);
        }
    }

    @Test
    void providerDescribesAndConfiguresIt() {
        HydraAttentionProvider provider = new HydraAttentionProvider();
        ComponentDescriptor descriptor = provider.descriptor();
        assertThat(descriptor.name()).isEqualTo("hydra");
        AttentionCapabilities c = descriptor.capabilities(AttentionCapabilities.class);
        assertThat(c.causal()).isTrue();
        assertThat(c.crossAttention()).isTrue();
        assertThat(c.additiveBias()).isFalse();
        assertThat(c.time()).isEqualTo("O(N*d)");
        assertThat(((HydraAttention) provider.create(Map.of("eps", "0.001"))).eps()).isEqualTo(0.001f);
        assertThatThrownBy(() -> provider.create(Map.of("eps", "0"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("eps");
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            assertThat(provider.create(Map.of()).forward(Tensor.ones(1, 1, 2, 2), Tensor.ones(1, 1, 2, 2),
                    Tensor.ones(1, 1, 2, 2), AttentionContext.none()).shape()).containsExactly(1, 1, 2, 2);
        }
    }
}
