package org.xformers4j.attention.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.attention.AttentionCases.allocatedBytes;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.toDouble;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.GradientCheck;
import org.xformers4j.tensor.Tensor;

class SimaAttentionTest {

    private static final float EPS = 1e-6f;

    /**
     * The paper's equations in float64: q̂[t, c] = q[t, c] / (Σ_s |q[s, c]| + eps) over the query
     * tokens, k̂ the same over the unpadded keys (padded ones zero), out_i = Σ_j (q̂_i · k̂_j) v_j.
     */
    static double[] reference(double[] q, double[] k, double[] v, boolean[][] padded,
                              int batch, int heads, int lq, int lk, int d, int dv) {
        double[] out = new double[batch * heads * lq * dv];
        for (int n = 0; n < batch; n++) {
            for (int h = 0; h < heads; h++) {
                int bh = n * heads + h;
                double[] qn = new double[d];
                double[] kn = new double[d];
                for (int c = 0; c < d; c++) {
                    for (int t = 0; t < lq; t++) {
                        qn[c] += Math.abs(q[(bh * lq + t) * d + c]);
                    }
                    for (int t = 0; t < lk; t++) {
                        if (padded == null || !padded[n][t]) {
                            kn[c] += Math.abs(k[(bh * lk + t) * d + c]);
                        }
                    }
                }
                for (int i = 0; i < lq; i++) {
                    for (int j = 0; j < lk; j++) {
                        if (padded != null && padded[n][j]) {
                            continue;
                        }
                        double w = 0;
                        for (int c = 0; c < d; c++) {
                            w += q[(bh * lq + i) * d + c] / (qn[c] + EPS) * k[(bh * lk + j) * d + c] / (kn[c] + EPS);
                        }
                        for (int c = 0; c < dv; c++) {
                            out[(bh * lq + i) * dv + c] += w * v[(bh * lk + j) * dv + c];
                        }
                    }
                }
            }
        }
        return out;
    }




    private static void assertMatchesReference(String what, SimaAttention sima, int batch, int heads, int lq, int lk,
                                               int d, int dv, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, batch, heads, lq, d);
        Tensor k = Tensor.randn(rng, batch, heads, lk, d);
        Tensor v = Tensor.randn(rng, batch, heads, lk, dv);
        float[] actual = sima.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
        double[] expected = reference(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()),
                toDouble(v.toFloatArray()), padded, batch, heads, lq, lk, d, dv);
        assertThat(actual).hasSize(expected.length);
        for (int e = 0; e < actual.length; e++) {
            assertThat((double) actual[e]).as("%s %s element %d", sima.order(), what, e)
                    .isCloseTo(expected[e], within(1e-5 * (1 + Math.abs(expected[e]))));
        }
    }

    @Test
    void forwardEqualsTheFloat64ReferenceInEveryOrder() {
        long seed = 1;
        for (SimaAttention.Order order : SimaAttention.Order.values()) {
            SimaAttention sima = new SimaAttention(EPS, order);
            for (int length : new int[] {1, 2, 7, 16, 40}) {
                for (int[] dims : new int[][] {{4, 3}, {8, 8}, {1, 5}}) {
                    String shape = "L=" + length + " d=" + dims[0] + " dv=" + dims[1];
                    assertMatchesReference(shape, sima, 2, 3, length, length, dims[0], dims[1], null, seed++);
                    assertMatchesReference("padded " + shape, sima, 2, 2, length, length, dims[0], dims[1],
                            padLast(2, length, length / 2), seed++);
                    assertMatchesReference("cross Lq=" + (length + 3) + " " + shape, sima, 2, 2, length + 3, length,
                            dims[0], dims[1], padLast(2, length, length / 3), seed++);
                }
            }
        }
    }

    @Test
    void bothOrdersGiveTheSameResultAndAutoPicksTheCheaper() {
        SimaAttention kvFirst = new SimaAttention(EPS, SimaAttention.Order.KV_FIRST);
        SimaAttention qkFirst = new SimaAttention(EPS, SimaAttention.Order.QK_FIRST);
        SplittableRandom rng = new SplittableRandom(7);
        for (int length : new int[] {3, 50}) {
            Tensor q = Tensor.randn(rng, 2, 2, length, 16);
            Tensor k = Tensor.randn(rng, 2, 2, length, 16);
            Tensor v = Tensor.randn(rng, 2, 2, length, 16);
            float[] a = kvFirst.forward(q, k, v, AttentionContext.none()).toFloatArray();
            float[] b = qkFirst.forward(q, k, v, AttentionContext.none()).toFloatArray();
            for (int e = 0; e < a.length; e++) {
                assertThat(a[e]).as("L=%d element %d", length, e).isCloseTo(b[e], within(1e-5f * (1 + Math.abs(b[e]))));
            }
        }
        SimaAttention auto = new SimaAttention(EPS, SimaAttention.Order.AUTO);
        // N > D: (k^T v) first; N < D: (q k^T) first
        assertThat(auto.keysValuesFirst(4096, 4096, 64, 64)).isTrue();
        assertThat(auto.keysValuesFirst(16, 16, 64, 64)).isFalse();
        assertThat(auto.keysValuesFirst(64, 64, 64, 64)).isTrue();
        assertThat(kvFirst.keysValuesFirst(2, 2, 64, 64)).isTrue();
        assertThat(qkFirst.keysValuesFirst(4096, 4096, 64, 64)).isFalse();
    }

    @Test
    void gradientsMatchFloat64FiniteDifferencesInBothOrders() {
        long seed = 200;
        for (SimaAttention.Order order : new SimaAttention.Order[] {SimaAttention.Order.KV_FIRST,
                SimaAttention.Order.QK_FIRST}) {
            for (int[] shape : new int[][] {{6, 6}, {4, 6}}) {
                int batch = 2;
                int heads = 2;
                int lq = shape[0];
                int lk = shape[1];
                boolean[][] padded = padLast(batch, lk, 2);
                SplittableRandom rng = new SplittableRandom(seed++);
                Tensor q = Tensor.randn(rng, batch, heads, lq, 4).requiresGrad(true);
                Tensor k = Tensor.randn(rng, batch, heads, lk, 4).requiresGrad(true);
                Tensor v = Tensor.randn(rng, batch, heads, lk, 3).requiresGrad(true);
                SimaAttention sima = new SimaAttention(EPS, order);
                AttentionContext context = paddedContext(padded, false);
                GradientCheck.Result r = GradientCheck.of("sima " + order + " Lq=" + lq + " Lk=" + lk,
                        in -> sima.forward(in[0], in[1], in[2], context),
                        x -> reference(x[0], x[1], x[2], padded, batch, heads, lq, lk, 4, 3), q, k, v).run();
                assertThat(r.passed()).as(r.detail()).isTrue();
            }
        }
    }

    @Test
    void paddedKeysHaveNoInfluenceAndFullyPaddedElementsOutputZeros() {
        SplittableRandom rng = new SplittableRandom(300);
        Tensor q = Tensor.randn(rng, 2, 2, 6, 4);
        Tensor k = Tensor.randn(rng, 2, 2, 6, 4);
        Tensor v = Tensor.randn(rng, 2, 2, 6, 3);
        boolean[][] padded = {{true, true, true, true, true, true}, {false, false, true, false, true, true}};
        for (SimaAttention.Order order : new SimaAttention.Order[] {SimaAttention.Order.KV_FIRST,
                SimaAttention.Order.QK_FIRST}) {
            SimaAttention sima = new SimaAttention(EPS, order);
            float[] out = sima.forward(q, k, v, paddedContext(padded, false)).toFloatArray();
            Tensor k2 = shiftPadded(k, padded, 3f, 1f);
            Tensor v2 = shiftPadded(v, padded, -5f, 0f);
            float[] changed = sima.forward(q, k2, v2, paddedContext(padded, false))
                    .toFloatArray();
            for (int e = 0; e < out.length; e++) {
                assertThat(Math.abs(changed[e] - out[e])).as("%s element %d", order, e).isEqualTo(0f);
            }
            for (int e = 0; e < 2 * 6 * 3; e++) {
                assertThat(out[e]).as("%s: batch element 0 is all padding: element %d", order, e).isZero();
            }
        }
    }

    @Test
    void refusesCausalUseSayingWhy() {
        Tensor q = Tensor.zeros(1, 1, 4, 4);
        assertThatThrownBy(() -> new SimaAttention(EPS, SimaAttention.Order.AUTO).forward(q, q, q,
                AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("causal")
                .hasMessageContaining("normalises each query and key channel over all the tokens")
                .hasMessageContaining("leaking the future");
        assertThat(new SimaAttentionProvider().descriptor().capabilities(AttentionCapabilities.class).causal())
                .isFalse();
    }

    @Test
    void theDefaultOrderNeverAllocatesAnNByNBufferForLongSequences() {
        int n = 2048;
        long nByN = (long) n * n * Float.BYTES;
        long auto = allocatedBytes(new SimaAttention(EPS, SimaAttention.Order.AUTO), n);
        assertThat(auto).as("bytes allocated by forward and backward in the default order").isLessThan(nByN / 4);
        assertThat((double) allocatedBytes(new SimaAttention(EPS, SimaAttention.Order.AUTO), 4 * n) / auto)
                .as("growth from N to 4N").isLessThan(4.5);
        // the counter does see an N x N buffer: forcing (q k^T) first allocates one
        assertThat(allocatedBytes(new SimaAttention(EPS, SimaAttention.Order.QK_FIRST), n)).isGreaterThanOrEqualTo(nByN);
    }

    @Test
    void providerDescribesAndConfiguresIt() {
        SimaAttentionProvider provider = new SimaAttentionProvider();
        ComponentDescriptor descriptor = provider.descriptor();
        assertThat(descriptor.name()).isEqualTo("sima");
        AttentionCapabilities c = descriptor.capabilities(AttentionCapabilities.class);
        assertThat(c.crossAttention()).isTrue();
        assertThat(c.keyPaddingMask()).isTrue();
        assertThat(c.additiveBias()).isFalse();
        SimaAttention sima = (SimaAttention) provider.create(Map.of("eps", "0.01", "order", "QK_FIRST"));
        assertThat(sima.eps()).isEqualTo(0.01f);
        assertThat(sima.order()).isEqualTo(SimaAttention.Order.QK_FIRST);
        assertThat(((SimaAttention) provider.create(Map.of())).order()).isEqualTo(SimaAttention.Order.AUTO);
        assertThatThrownBy(() -> provider.create(Map.of("eps", "-1"))).isInstanceOf(PropertyException.class)
                .hasMessageContaining("eps");
    }
}
