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
import java.util.Map;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.mixing.SwiftFormerAttention.Pooling;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.FlopCount.Shape;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * {@link SwiftFormerAttention} against SwiftFormer's efficient additive attention written out in
 * double precision with plain loops (per token and channel: the normalisations, the pooling
 * scores, the global query, the modulated keys' transform, the residual), with both poolings,
 * values of the head's size and of another, and padding; gradients of the inputs and parameters
 * against finite differences of that reference; refusals; the conformance suite.
 */
class SwiftFormerAttentionTest {

    private static final int B = 2;
    private static final int H = 2;
    private static final int D = 4;
    private static final float EPS = 1e-12f;

    private static SwiftFormerAttention mechanism(Pooling pooling, int valueDim, long seed) {
        SwiftFormerAttention attention = new SwiftFormerAttention(pooling, EPS);
        attention.initialize(H, D, valueDim, new SplittableRandom(seed));
        return randomized(attention, seed + 1, 0.7f);
    }

    /** x / sqrt(|x|² + eps) of the {@code width} elements of x from {@code offset}. */
    private static double[] normalized(double[] x, int offset, int width) {
        double squares = 0;
        for (int c = 0; c < width; c++) {
            squares += x[offset + c] * x[offset + c];
        }
        double[] out = new double[width];
        for (int c = 0; c < width; c++) {
            out[c] = x[offset + c] / Math.sqrt(squares + EPS);
        }
        return out;
    }

    /**
     * The paper's (and the authors' code's) equations per batch element and head, with w [H, D]
     * and T [H, D, Dv]: q̂, k̂, v̂ per token; s_n = q̂_n·w/sqrt(D); α = s/|s| (L2) or softmax(s)
     * over the unpadded tokens; g = Σ α_n q̂_n; out_n = (g ⊙ k̂_n) T + v̂_n, zero for a padded token.
     */
    private static double[] reference(double[] q, double[] k, double[] v, double[] w, double[] t, int n, int dv,
                                      Pooling pooling, boolean[][] padded) {
        double[] out = new double[B * H * n * dv];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int bh = b * H + h;
                double[][] qn = new double[n][];
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    qn[i] = normalized(q, (bh * n + i) * D, D);
                    for (int c = 0; c < D; c++) {
                        s[i] += qn[i][c] * w[h * D + c] / Math.sqrt(D);
                    }
                    if (!isPadded(padded, b, i)) {
                        max = Math.max(max, s[i]);
                    }
                }
                double[] alpha = new double[n];
                double total = 0;
                for (int i = 0; i < n; i++) {
                    if (!isPadded(padded, b, i)) {
                        alpha[i] = pooling == Pooling.L2 ? s[i] : Math.exp(s[i] - max);
                        total += pooling == Pooling.L2 ? s[i] * s[i] : alpha[i];
                    }
                }
                double norm = pooling == Pooling.L2 ? Math.sqrt(total + EPS) : total;
                double[] g = new double[D];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < D && norm > 0; c++) {
                        g[c] += alpha[i] / norm * qn[i][c];
                    }
                }
                for (int i = 0; i < n; i++) {
                    if (isPadded(padded, b, i)) {
                        continue;
                    }
                    double[] kn = normalized(k, (bh * n + i) * D, D);
                    double[] vn = normalized(v, (bh * n + i) * dv, dv);
                    for (int j = 0; j < dv; j++) {
                        double sum = vn[j];
                        for (int c = 0; c < D; c++) {
                            sum += g[c] * kn[c] * t[(h * D + c) * dv + j];
                        }
                        out[(bh * n + i) * dv + j] = sum;
                    }
                }
            }
        }
        return out;
    }

    private static boolean isPadded(boolean[][] padded, int b, int i) {
        return padded != null && padded[b][i];
    }

    private static void assertMatchesReference(Pooling pooling, int n, int dv, boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor q = Tensor.randn(rng, B, H, n, D);
        Tensor k = Tensor.randn(rng, B, H, n, D);
        Tensor v = Tensor.randn(rng, B, H, n, dv);
        SwiftFormerAttention attention = mechanism(pooling, dv, seed);
        double[][] p = parameters(attention);
        assertElementsClose(forward(attention, q, k, v, paddedContext(padded, false)),
                reference(toDouble(q.toFloatArray()), toDouble(k.toFloatArray()), toDouble(v.toFloatArray()), p[0],
                        p[1], n, dv, pooling, padded), 2e-5);
    }

    @Test
    void equalsTheReferenceWithEitherPoolingAndAnyValueSize() {
        long seed = 1;
        for (Pooling pooling : Pooling.values()) {
            for (int dv : new int[] {D, 3, 6}) {
                assertMatchesReference(pooling, 9, dv, null, seed++);
            }
        }
    }

    @Test
    void paddedTokensTakeNoPartInThePoolingOutputZerosAndHaveNoInfluence() {
        boolean[][] padded = padLast(B, 9, 3);
        assertMatchesReference(Pooling.L2, 9, D, padded, 10);
        assertMatchesReference(Pooling.SOFTMAX, 9, 3, padded, 11);
        SplittableRandom rng = new SplittableRandom(12);
        Tensor q = Tensor.randn(rng, B, H, 9, D);
        Tensor k = Tensor.randn(rng, B, H, 9, D);
        Tensor v = Tensor.randn(rng, B, H, 9, D);
        for (Pooling pooling : Pooling.values()) {
            SwiftFormerAttention attention = mechanism(pooling, D, 12);
            AttentionContext context = paddedContext(padded, false);
            float[] before = forward(attention, q, k, v, context);
            float[] after = forward(attention, shiftPadded(q, padded, 3f, 1f), shiftPadded(k, padded, 5f, 0.5f),
                    shiftPadded(v, padded, -7f, 1f), context);
            assertThat(after).as("%s", pooling).containsExactly(before);
            float[] alone = forward(attention, q.narrow(2, 0, 6).narrow(0, 1, 1), k.narrow(2, 0, 6).narrow(0, 1, 1),
                    v.narrow(2, 0, 6).narrow(0, 1, 1), AttentionContext.none());
            for (int h = 0; h < H; h++) {
                for (int e = 0; e < 9 * D; e++) {
                    float value = before[((H + h) * 9) * D + e];
                    if (e < 6 * D) {
                        assertThat(value).as("%s head %d element %d", pooling, h, e)
                                .isCloseTo(alone[h * 6 * D + e], Offset.offset(1e-5f));
                    } else {
                        assertThat(value).as("%s head %d padded element %d", pooling, h, e).isZero();
                    }
                }
            }
        }
    }

    @Test
    void gradientsOfTheInputsAndParametersMatchFiniteDifferencesOfTheReference() {
        long seed = 20;
        for (Pooling pooling : Pooling.values()) {
            for (int dv : new int[] {D, 3}) {
                SplittableRandom rng = new SplittableRandom(seed);
                SwiftFormerAttention attention = mechanism(pooling, dv, seed++);
                boolean[][] padded = padLast(B, 7, 2);
                Tensor[] leaves = {GradCheck.input(rng, B, H, 7, D), GradCheck.input(rng, B, H, 7, D),
                        GradCheck.input(rng, B, H, 7, dv), attention.namedParameters().get("pool"),
                        attention.namedParameters().get("transform")};
                AttentionContext context = paddedContext(padded, false);
                GradCheck.of("swiftformer " + pooling + ", Dv " + dv,
                        in -> attention.forward(in[0], in[1], in[2], context),
                        ref -> reference(ref[0], ref[1], ref[2], ref[3], ref[4], 7, dv, pooling, padded), leaves)
                        .check();
            }
        }
    }

    @Test
    void createsAPoolingVectorAndATransformPerHead() {
        SwiftFormerAttention attention = new SwiftFormerAttention(Pooling.L2, EPS);
        attention.initialize(4, 8, new SplittableRandom(1));
        assertThat(attention.namedParameters().keySet()).containsExactly("pool", "transform");
        assertThat(attention.namedParameters().get("pool").shape()).containsExactly(4, 8);
        assertThat(attention.namedParameters().get("transform").shape()).containsExactly(4, 8, 8);
        for (float t : attention.namedParameters().get("transform").toFloatArray()) {
            assertThat(t).isBetween(-1 / (float) Math.sqrt(8), 1 / (float) Math.sqrt(8));
        }
        assertThatThrownBy(() -> attention.initialize(4, 8, 6, new SplittableRandom(1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("initialised for 4 heads of size 8");
    }

    @Test
    void refusesCausalCrossAttentionABiasAndOtherSizes() {
        SwiftFormerAttention attention = mechanism(Pooling.L2, D, 30);
        Tensor q = Tensor.zeros(1, H, 6, D);
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal context is not supported")
                .hasMessageContaining("pools every token");
        assertThatThrownBy(() -> attention.forward(q.narrow(2, 0, 4), q, q, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one sequence")
                .hasMessageContaining("[1, 2, 4, 4]");
        assertThatThrownBy(() -> attention.forward(q, q, q, AttentionContext.builder()
                .bias(Tensor.zeros(1, 1, 6, 6)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("additive bias is not supported");
        Tensor wide = Tensor.zeros(1, H, 6, D + 1);
        assertThatThrownBy(() -> attention.forward(wide, wide, wide, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("initialised for 2 heads of size 4");
        assertThatThrownBy(() -> new SwiftFormerAttentionProvider().create(Map.of("eps", "0")))
                .hasMessageContaining("eps");
    }

    @Test
    void describesItselfAndCountsItsFlops() {
        ComponentDescriptor d = new SwiftFormerAttentionProvider().descriptor();
        assertThat(d.name()).isEqualTo("swiftformer");
        AttentionCapabilities c = d.capabilities(AttentionCapabilities.class);
        assertThat(Arrays.asList(c.causal(), c.crossAttention(), c.keyPaddingMask(), c.additiveBias(),
                c.incrementalDecoding(), c.exact(), c.linearMemory())).containsExactly(false, false, true, false,
                false, false, true);
        assertThat(c.convergesWith()).isEmpty();
        assertThat(d.hyperparameter("pooling").orElseThrow().defaultValue()).isEqualTo("L2");
        assertThat(mechanism(Pooling.L2, 3, 1).forwardFlops(new Shape(2, 3, 100, 100, 16, 8, false)))
                .isEqualTo(2.0 * 2 * 3 * 100 * (2 * 16 + 16 * 8));
    }

    @Test
    void passesTheConformanceSuite() {
        MixingCases.assertPassesTheConformanceSuite(new SwiftFormerAttentionProvider(), "gradient-inputs",
                "gradient-parameters", "padding-ignored", "fully-masked-rows", "batch-independent", "linear-memory",
                "rejects-bad-input", "reproducible");
    }
}
