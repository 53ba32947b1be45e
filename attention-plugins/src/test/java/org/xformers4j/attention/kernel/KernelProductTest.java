package org.xformers4j.attention.kernel;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.tensor.GradCheck;

/**
 * The fused product on features computed before it (φ the identity), as the kernel attentions whose
 * feature map is not row-wise use it: {@link CausalLinearProduct} and
 * {@link LinearAttention#nonCausal}, values and gradients against kernel attention written out in
 * double precision (features exp(x), so that they are positive as a kernel's are).
 */
class KernelProductTest {

    private static final int B = 2;
    private static final int H = 2;
    private static final int F = 4;
    private static final int DV = 3;
    private static final float EPS = 1e-6f;

    /** out_i = Σ_j (fq_i·fk_j) v_j / (Σ_j fq_i·fk_j + eps) over j ≤ lk - lq + i when causal, fq = exp(q), fk = exp(k). */
    private static double[] reference(double[] q, double[] k, double[] v, int lq, int lk, boolean causal) {
        double[] out = new double[B * H * lq * DV];
        for (int bh = 0; bh < B * H; bh++) {
            for (int i = 0; i < lq; i++) {
                double den = EPS;
                double[] num = new double[DV];
                for (int j = 0; j < (causal ? lk - lq + i + 1 : lk); j++) {
                    double kernel = 0;
                    for (int f = 0; f < F; f++) {
                        kernel += Math.exp(q[(bh * lq + i) * F + f]) * Math.exp(k[(bh * lk + j) * F + f]);
                    }
                    den += kernel;
                    for (int e = 0; e < DV; e++) {
                        num[e] += kernel * v[(bh * lk + j) * DV + e];
                    }
                }
                for (int e = 0; e < DV; e++) {
                    out[(bh * lq + i) * DV + e] = num[e] / den;
                }
            }
        }
        return out;
    }

    private static void check(boolean causal, int lq, int lk, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        GradCheck.of((causal ? "causal" : "non-causal") + " product on given features, " + lq + " over " + lk,
                in -> causal ? new CausalLinearProduct(EPS).apply(in[0].exp(), in[1].exp(), in[2])
                        : LinearAttention.nonCausal(in[0].exp(), in[1].exp(), in[2], EPS),
                ref -> reference(ref[0], ref[1], ref[2], lq, lk, causal),
                GradCheck.input(rng, B, H, lq, F), GradCheck.input(rng, B, H, lk, F), GradCheck.input(rng, B, H, lk, DV))
                .check();
    }

    @Test
    void causalProductOnGivenFeaturesHasTheValuesAndGradientsOfTheReference() {
        check(true, 6, 6, 1);
        check(true, 3, 6, 2);
        check(true, 10, 13, 5);
    }

    @Test
    void nonCausalProductOnGivenFeaturesHasTheValuesAndGradientsOfTheReference() {
        check(false, 5, 7, 3);
        check(false, 7, 4, 4);
        check(false, 11, 19, 6);   // blocks of 8 rows: two of queries, three of keys
    }
}
