package org.xformers4j.attention.kernel;

import java.util.List;
import java.util.stream.IntStream;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * The causal kernel-attention product as one fused op with its own backward (Katharopoulos et al.,
 * 2020, "Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention", §3.3 and
 * Algorithm 1; fast-transformers' {@code causal_product}), on feature-mapped queries and keys:
 * <pre>
 *   fq [B, H, Lq, D], fk [B, H, Lk, D], v [B, H, Lk, Dv]       (Lq &lt;= Lk, queries end-aligned)
 *   p(i)  = Lk - Lq + i                                          the key position of query i
 *   S_p   = S_{-1} + Σ_{j &lt;= p} fk_j v_jᵀ   [D, Dv]            running state, O(D·Dv) per head
 *   z_p   = z_{-1} + Σ_{j &lt;= p} fk_j        [D]                S_{-1} = 0, z_{-1} = 0 unless continued
 *   den_i = fq_i · z_{p(i)} + eps
 *   out_i = fq_iᵀ S_{p(i)} / den_i     [Dv]
 * </pre>
 * The forward scans the keys j = 0 .. Lk-1 once, updating S and z and emitting each query when its
 * key position is reached. With the output gradient g_i, {@code gn_i = g_i / den_i} and
 * {@code gd_i = -(g_i · out_i) / den_i} (the gradient of den_i), the backward is
 * <pre>
 *   dfq_i = S_{p(i)} gn_i + gd_i z_{p(i)}                          forward scan, S and z again
 *   R_j   = Σ_{i: p(i) &gt;= j} fq_i gn_iᵀ   [D, Dv],  r_j = Σ_{i: p(i) &gt;= j} gd_i fq_i   [D]
 *   dfk_j = R_j v_j + r_j,   dv_j = R_jᵀ fk_j                       reverse scan, R and r
 * </pre>
 * so neither pass ever holds more than O(D·Dv) state per head: no [Lk, D, Dv] tensor of prefix
 * states and no [Lq, Lk] matrix. The running sums are kept in double precision (a float32 sum of
 * a million positive terms would lose the last ones); inputs and outputs are float32. Batch
 * elements and heads are independent and run in parallel.
 *
 * <p>The op may continue the running sums of earlier keys, {S_{-1}, z_{-1}} instead of zeros, for
 * recurrent decoding (the paper's §3.4): they are constants (no gradient flows into them), and
 * after the forward {@link #state()} holds S and z after the last key, rounded to float32, to
 * continue from in the next step.
 *
 * <p>The inputs are copied to the host (the CPU backend's arrays are host memory already) and the
 * output and gradients uploaded to the inputs' backend: besides those O(N·D) copies the op keeps
 * only each query's denominator ([B, H, Lq]) and references to its inputs and output for the
 * backward.
 */
final class CausalLinearProduct extends CustomFunction {

    private final double eps;
    /** [B·H·D·Dv] and [B·H·D]: the running sums of earlier keys, or null to start from zeros. */
    private final float[] initialState;
    private final float[] initialNormaliser;
    private Tensor[] inputs;
    private Tensor out;
    /** [B·H·Lq]: each query's denominator fq_i · z_{p(i)} + eps. */
    private float[] denominators;
    /** {S [B, H, D, Dv], z [B, H, 1, D]} after the last key, once the forward ran. */
    private List<Tensor> finalState;

    /** @param eps added to every denominator */
    CausalLinearProduct(double eps) {
        this(eps, null);
    }

    /**
     * @param eps   added to every denominator
     * @param state {S [B, H, D, Dv], z [B, H, 1, D]}, the running sums of the keys before the first
     *              one, as {@link #state()} returned them; null to start from zeros
     */
    CausalLinearProduct(double eps, List<Tensor> state) {
        this.eps = eps;
        this.initialState = state == null ? null : state.get(0).toFloatArray();
        this.initialNormaliser = state == null ? null : state.get(1).toFloatArray();
    }

    /** {S [B, H, D, Dv], z [B, H, 1, D]} after the last key, in float32: the state to continue from. */
    List<Tensor> state() {
        if (finalState == null) {
            throw new IllegalStateException(name() + ": no state before the forward");
        }
        return finalState;
    }

    @Override
    protected String name() {
        return "causalLinearProduct";
    }

    /** in: fq [B, H, Lq, D], fk [B, H, Lk, D], v [B, H, Lk, Dv]; out [B, H, Lq, Dv]. */
    @Override
    protected Tensor forward(Tensor... in) {
        inputs = in;
        Sizes n = new Sizes(in[0], in[1], in[2]);
        float[] fq = in[0].toFloatArray();
        float[] fk = in[1].toFloatArray();
        float[] v = in[2].toFloatArray();
        float[] o = new float[n.heads * n.lq * n.dv];
        float[] sEnd = new float[n.heads * n.d * n.dv];
        float[] zEnd = new float[n.heads * n.d];
        denominators = new float[n.heads * n.lq];
        IntStream.range(0, n.heads).parallel().forEach(bh -> forwardScan(n, bh, fq, fk, v, o, sEnd, zEnd));
        var backend = in[0].backend();
        finalState = List.of(Tensor.of(backend, sEnd, n.batch, n.h, n.d, n.dv),
                Tensor.of(backend, zEnd, n.batch, n.h, 1, n.d));
        out = Tensor.of(backend, o, n.batch, n.h, n.lq, n.dv);
        return out;
    }

    /**
     * One head: keys j = 0 .. Lk-1 into S and z, emitting query i = j - (Lk - Lq) once j is its
     * position; S and z after the last key go to {@code sEnd} and {@code zEnd}.
     */
    private void forwardScan(Sizes n, int bh, float[] fq, float[] fk, float[] v, float[] o, float[] sEnd,
                             float[] zEnd) {
        double[] s = new double[n.d * n.dv];
        double[] z = new double[n.d];
        start(n, bh, s, z);
        int offset = n.lk - n.lq;
        for (int j = 0; j < n.lk; j++) {
            accumulateKey(n, s, z, fk, (bh * n.lk + j) * n.d, v, (bh * n.lk + j) * n.dv);
            int i = j - offset;
            if (i >= 0) {
                emitQuery(n, s, z, fq, (bh * n.lq + i) * n.d, o, (bh * n.lq + i) * n.dv, bh * n.lq + i);
            }
        }
        for (int e = 0; e < s.length; e++) {
            sEnd[bh * s.length + e] = (float) s[e];
        }
        for (int c = 0; c < z.length; c++) {
            zEnd[bh * z.length + c] = (float) z[c];
        }
    }

    /** S and z of one head before the first key: the initial state, or zeros. */
    private void start(Sizes n, int bh, double[] s, double[] z) {
        if (initialState == null) {
            return;
        }
        for (int e = 0; e < s.length; e++) {
            s[e] = initialState[bh * s.length + e];
        }
        for (int c = 0; c < z.length; c++) {
            z[c] = initialNormaliser[bh * z.length + c];
        }
    }

    /** S += fk_j v_jᵀ, z += fk_j. */
    private static void accumulateKey(Sizes n, double[] s, double[] z, float[] fk, int k, float[] v, int vj) {
        for (int c = 0; c < n.d; c++) {
            double f = fk[k + c];
            z[c] += f;
            int row = c * n.dv;
            for (int e = 0; e < n.dv; e++) {
                s[row + e] += f * v[vj + e];
            }
        }
    }

    /** out_i = fq_iᵀ S / (fq_i · z + eps); the denominator is kept for the backward. */
    private void emitQuery(Sizes n, double[] s, double[] z, float[] fq, int q, float[] o, int oi, int row) {
        double den = eps;
        for (int c = 0; c < n.d; c++) {
            den += fq[q + c] * z[c];
        }
        for (int e = 0; e < n.dv; e++) {
            double num = 0;
            for (int c = 0; c < n.d; c++) {
                num += fq[q + c] * s[c * n.dv + e];
            }
            o[oi + e] = (float) (num / den);
        }
        denominators[row] = (float) den;
    }

    @Override
    protected Tensor[] backward(Tensor gradOut) {
        Sizes n = new Sizes(inputs[0], inputs[1], inputs[2]);
        float[] fq = inputs[0].toFloatArray();
        float[] fk = inputs[1].toFloatArray();
        float[] v = inputs[2].toFloatArray();
        float[] o = out.toFloatArray();
        float[] g = gradOut.toFloatArray();
        float[] dfq = new float[fq.length];
        float[] dfk = new float[fk.length];
        float[] dv = new float[v.length];
        IntStream.range(0, n.heads).parallel().forEach(bh -> {
            double[] gn = new double[n.lq * n.dv];
            double[] gd = new double[n.lq];
            scaleOutputGradient(n, bh, o, g, gn, gd);
            queryGradientScan(n, bh, fq, fk, v, gn, gd, dfq);
            keyValueGradientScan(n, bh, fq, fk, v, gn, gd, dfk, dv);
        });
        var backend = inputs[0].backend();
        return new Tensor[] {Tensor.of(backend, dfq, inputs[0].shape()), Tensor.of(backend, dfk, inputs[1].shape()),
                Tensor.of(backend, dv, inputs[2].shape())};
    }

    /** gn_i = g_i / den_i and gd_i = -(g_i · out_i) / den_i for the queries of one head. */
    private void scaleOutputGradient(Sizes n, int bh, float[] o, float[] g, double[] gn, double[] gd) {
        for (int i = 0; i < n.lq; i++) {
            double den = denominators[bh * n.lq + i];
            int oi = (bh * n.lq + i) * n.dv;
            double dot = 0;
            for (int e = 0; e < n.dv; e++) {
                gn[i * n.dv + e] = g[oi + e] / den;
                dot += (double) g[oi + e] * o[oi + e];
            }
            gd[i] = -dot / den;
        }
    }

    /** dfq_i = S_{p(i)} gn_i + gd_i z_{p(i)}, scanning the keys forward again. */
    private void queryGradientScan(Sizes n, int bh, float[] fq, float[] fk, float[] v, double[] gn, double[] gd,
                                   float[] dfq) {
        double[] s = new double[n.d * n.dv];
        double[] z = new double[n.d];
        start(n, bh, s, z);
        int offset = n.lk - n.lq;
        for (int j = 0; j < n.lk; j++) {
            accumulateKey(n, s, z, fk, (bh * n.lk + j) * n.d, v, (bh * n.lk + j) * n.dv);
            int i = j - offset;
            if (i < 0) {
                continue;
            }
            int q = (bh * n.lq + i) * n.d;
            for (int c = 0; c < n.d; c++) {
                double sum = gd[i] * z[c];
                int row = c * n.dv;
                for (int e = 0; e < n.dv; e++) {
                    sum += s[row + e] * gn[i * n.dv + e];
                }
                dfq[q + c] = (float) sum;
            }
        }
    }

    /**
     * dfk_j = R_j v_j + r_j and dv_j = R_jᵀ fk_j, scanning the keys in reverse and adding query i
     * to R and r when the scan reaches its position p(i) (it sees every key j &lt;= p(i)).
     */
    private static void keyValueGradientScan(Sizes n, int bh, float[] fq, float[] fk, float[] v, double[] gn,
                                             double[] gd, float[] dfk, float[] dv) {
        double[] r = new double[n.d * n.dv];
        double[] rz = new double[n.d];
        int offset = n.lk - n.lq;
        for (int j = n.lk - 1; j >= 0; j--) {
            int i = j - offset;
            if (i >= 0) {
                int q = (bh * n.lq + i) * n.d;
                for (int c = 0; c < n.d; c++) {
                    double f = fq[q + c];
                    rz[c] += gd[i] * f;
                    int row = c * n.dv;
                    for (int e = 0; e < n.dv; e++) {
                        r[row + e] += f * gn[i * n.dv + e];
                    }
                }
            }
            int k = (bh * n.lk + j) * n.d;
            int vj = (bh * n.lk + j) * n.dv;
            for (int c = 0; c < n.d; c++) {
                double sum = rz[c];
                int row = c * n.dv;
                for (int e = 0; e < n.dv; e++) {
                    sum += r[row + e] * v[vj + e];
                }
                dfk[k + c] = (float) sum;
            }
            for (int e = 0; e < n.dv; e++) {
                double sum = 0;
                for (int c = 0; c < n.d; c++) {
                    sum += r[c * n.dv + e] * fk[k + c];
                }
                dv[vj + e] = (float) sum;
            }
        }
    }

    /** The sizes of one application; {@code heads} counts batch elements times heads. */
    private record Sizes(int batch, int h, int heads, int lq, int lk, int d, int dv) {
        Sizes(Tensor fq, Tensor fk, Tensor v) {
            this(fq.size(0), fq.size(1), fq.size(0) * fq.size(1), fq.size(2), fk.size(2), fq.size(3), v.size(3));
        }
    }
}
