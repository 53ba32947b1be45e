package org.xformers4j.attention.mixing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xformers4j.attention.AttentionCases.assertElementsClose;
import static org.xformers4j.attention.AttentionCases.padLast;
import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.shiftPadded;
import static org.xformers4j.attention.AttentionCases.toDouble;
import static org.xformers4j.attention.mixing.MixingCases.forward;
import static org.xformers4j.attention.mixing.MixingCases.parameters;
import static org.xformers4j.attention.mixing.MixingCases.randomized;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.FlopCount.Shape;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * {@link CrossCovarianceAttention} against XCiT's XCA written out in double precision with plain
 * loops, in XCiT's own terms (its queries, keys and values as [channels, tokens], each channel
 * normalised over the tokens, the channel-by-channel softmax, {@code attn @ v}), called with the
 * roles the mechanism documents (XCiT's queries are our values, its values our queries), for
 * values of the head's size and of another, with padding; gradients of the inputs and the
 * temperatures against finite differences of that reference; refusals; the conformance suite.
 */
class CrossCovarianceAttentionTest {

    private static final int B = 2;
    private static final int H = 2;
    private static final int D = 4;
    private static final float EPS = 1e-12f;

    private static CrossCovarianceAttention mechanism(int valueDim, long seed) {
        CrossCovarianceAttention attention = new CrossCovarianceAttention(EPS);
        attention.initialize(H, D, valueDim, new SplittableRandom(seed));
        return randomized(attention, seed + 1, 1.5f);
    }

    /**
     * XCiT's XCA per batch element and head on xq [B, H, N, cq], xk and xv [B, H, N, ck] with the
     * temperatures tau [H]: padded tokens zeroed, every channel divided by its L2 norm over the
     * tokens, attn[i][j] = softmax_j(tau · Σ_n q̂[n][i] k̂[n][j]), out[n][i] = Σ_j attn[i][j] xv[n][j].
     */
    private static double[] xcit(double[] xq, double[] xk, double[] xv, double[] tau, int n, int cq, int ck,
                                 boolean[][] padded) {
        double[] out = new double[B * H * n * cq];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int bh = b * H + h;
                double[][] q = channels(xq, bh, n, cq, padded[b]);
                double[][] k = channels(xk, bh, n, ck, padded[b]);
                double[][] v = channels(xv, bh, n, ck, padded[b]);
                normalize(q);
                normalize(k);
                for (int i = 0; i < cq; i++) {
                    double[] a = new double[ck];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < ck; j++) {
                        for (int t = 0; t < n; t++) {
                            a[j] += q[i][t] * k[j][t];
                        }
                        a[j] *= tau[h];
                        max = Math.max(max, a[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < ck; j++) {
                        a[j] = Math.exp(a[j] - max);
                        sum += a[j];
                    }
                    for (int t = 0; t < n; t++) {
                        for (int j = 0; j < ck; j++) {
                            out[(bh * n + t) * cq + i] += a[j] / sum * v[j][t];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** x [B, H, N, C] of batch element and head bh as [C][N] (XCiT's transpose), padded tokens zeroed. */
    private static double[][] channels(double[] x, int bh, int n, int c, boolean[] padded) {
        double[][] out = new double[c][n];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < c; i++) {
                out[i][t] = padded[t] ? 0 : x[(bh * n + t) * c + i];
            }
        }
        return out;
    }

    /** Each row x / sqrt(|x|² + eps): F.normalize(dim=-1). */
    private static void normalize(double[][] rows) {
        for (double[] row : rows) {
            double squares = 0;
            for (double x : row) {
                squares += x * x;
            }
            for (int t = 0; t < row.length; t++) {
                row[t] /= Math.sqrt(squares + EPS);
            }
        }
    }

    private static void assertMatchesXcit(int n, int dv, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, n, D);
        Tensor k = Tensor.randn(rng, B, H, n, D);
        Tensor v = Tensor.randn(rng, B, H, n, dv);
        CrossCovarianceAttention attention = mechanism(dv, seed);
        assertElementsClose(forward(attention, q, k, v, paddedContext(padded, false)),
                xcit(toDouble(v.toFloatArray()), toDouble(k.toFloatArray()), toDouble(q.toFloatArray()),
                        parameters(attention)[0], n, dv, D, padded == null ? new boolean[B][n] : padded), 2e-5);
    }

    @Test
    void isXcitsXcaWithItsQueriesAsOurValuesAndItsValuesAsOurQueries() {
        assertMatchesXcit(9, D, null, 1);
        assertMatchesXcit(9, 3, null, 2);
        assertMatchesXcit(5, 7, null, 3);
    }

    @Test
    void channelAttentionDoesNotDependOnTheScaleOfAKeyOrValueChannel() {
        SplittableRandom rng = new SplittableRandom(4);
        Tensor q = Tensor.randn(rng, B, H, 9, D);
        Tensor k = Tensor.randn(rng, B, H, 9, D);
        Tensor v = Tensor.randn(rng, B, H, 9, D);
        CrossCovarianceAttention attention = mechanism(D, 4);
        float[] before = forward(attention, q, k, v, AttentionContext.none());
        Tensor scale = Tensor.of(new float[] {3f, 0.25f, 1f, 7f}, D);
        float[] after = forward(attention, q, k.mul(scale), v.mul(scale), AttentionContext.none());
        for (int e = 0; e < before.length; e++) {
            assertThat(after[e]).as("element %d", e).isCloseTo(before[e], Offset.offset(1e-5f));
        }
    }

    @Test
    void paddedTokensAreLeftOutOfTheNormsAndTheChannelAttentionAndOutputZeros() {
        boolean[][] padded = padLast(B, 9, 3);
        assertMatchesXcit(9, D, padded, 5);
        assertMatchesXcit(9, 3, padded, 6);
        SplittableRandom rng = new SplittableRandom(7);
        Tensor q = Tensor.randn(rng, B, H, 9, D);
        Tensor k = Tensor.randn(rng, B, H, 9, D);
        Tensor v = Tensor.randn(rng, B, H, 9, D);
        CrossCovarianceAttention attention = mechanism(D, 7);
        AttentionContext context = paddedContext(padded, false);
        float[] before = forward(attention, q, k, v, context);
        float[] after = forward(attention, shiftPadded(q, padded, 3f, 1f), shiftPadded(k, padded, 5f, 0.5f),
                shiftPadded(v, padded, -7f, 1f), context);
        assertThat(after).containsExactly(before);
        float[] alone = forward(attention, q.narrow(2, 0, 6).narrow(0, 1, 1), k.narrow(2, 0, 6).narrow(0, 1, 1),
                v.narrow(2, 0, 6).narrow(0, 1, 1), AttentionContext.none());
        for (int h = 0; h < H; h++) {
            for (int e = 0; e < 9 * D; e++) {
                float value = before[(H + h) * 9 * D + e];
                assertThat(value).as("head %d element %d", h, e).isCloseTo(e < 6 * D ? alone[h * 6 * D + e] : 0f,
                        Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void gradientsOfTheInputsAndTemperaturesMatchFiniteDifferencesOfTheReference() {
        long seed = 10;
        for (int dv : new int[] {D, 3}) {
            SplittableRandom rng = new SplittableRandom(seed);
            CrossCovarianceAttention attention = mechanism(dv, seed++);
            boolean[][] padded = padLast(B, 7, 2);
            Tensor[] leaves = {GradCheck.input(rng, B, H, 7, D), GradCheck.input(rng, B, H, 7, D),
                    GradCheck.input(rng, B, H, 7, dv), attention.namedParameters().get("temperature")};
            AttentionContext context = paddedContext(padded, false);
            GradCheck.of("xca, Dv " + dv, in -> attention.forward(in[0], in[1], in[2], context),
                    ref -> xcit(ref[2], ref[1], ref[0], ref[3], 7, dv, D, padded), leaves).check();
        }
    }

    @Test
    void startsWithTemperatureOnePerHeadWithoutWeightDecay() {
        CrossCovarianceAttention attention = new CrossCovarianceAttention(EPS);
        attention.initialize(3, 8, new SplittableRandom(1));
        assertThat(attention.namedParameters().keySet()).containsExactly("temperature");
        assertThat(attention.namedParameters().get("temperature").toFloatArray()).containsExactly(1f, 1f, 1f);
        assertThat(attention.noDecayParameterNames()).containsExactly("temperature");
    }

    @Test
    void refusesCausalCrossAttentionABiasAndDropout() {
        CrossCovarianceAttention attention = mechanism(D, 20);
        Tensor q = Tensor.zeros(1, H, 6, D);
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal context is not supported")
                .hasMessageContaining("every token");
        assertThatThrownBy(() -> attention.forward(q.narrow(2, 0, 4), q, q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one sequence");
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 6, 6)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder()
                .dropout(0.1f, new SplittableRandom(1)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attention dropout 0.1");
    }

    @Test
    void describesItselfAndCountsItsFlops() {
        ComponentDescriptor d = new CrossCovarianceAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("xca");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(Arrays.asList(c.causal(), c.crossAttention(), c.keyPaddingMask(), c.additiveBias(),
                c.incrementalDecoding(), c.exact(), c.linearMemory())).containsExactly(false, false, true, false,
                false, false, true);
        assertThat(mechanism(3, 1).forwardFlops(new Shape(2, 3, 100, 100, 16, 8, false)))
                .isEqualTo(4.0 * 2 * 3 * 100 * 16 * 8);
    }

    @Test
    void passesTheConformanceSuite() {
        MixingCases.assertPassesTheConformanceSuite(new CrossCovarianceAttentionProvider(), "gradient-inputs",
                "gradient-parameters", "padding-ignored", "fully-masked-rows", "batch-independent", "linear-memory",
                "rejects-bad-input", "reproducible");
    }
}
