package org.xformers4j.attention.kernel;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * Kernel attention (Katharopoulos et al., 2020, "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention", §3.2–3.4 and Algorithm 1; fast-transformers'
 * {@code causal_product}) as one fused op with its own backward, on the raw queries, keys and
 * values, the feature map φ ({@link FeatureMap}) applied to a few rows at a time inside it:
 * <pre>
 *   q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv];   φ: a row of D → F features
 *   causal:     p(i) = Lk - Lq + i (queries end-aligned),  the sums over the keys j &lt;= p(i)
 *   non-causal: the sums over every key
 *   S = S_0 + Σ_j φ(k_j) v_jᵀ   [F, Dv],   z = z_0 + Σ_j φ(k_j)   [F]   (S_0 = z_0 = 0 unless continued)
 *   den_i = φ(q_i) · z + eps,   out_i = φ(q_i)ᵀ S / den_i
 * </pre>
 * Padded keys (the mask's non-zero entries) are left out of every sum. The keys are scanned once,
 * j = 0 .. Lk-1, so that the state never exceeds S and z per head: no [Lk, F, Dv] tensor of prefix
 * states, no [Lq, Lk] matrix, and no [L, F] tensor of features either, which matters when F is
 * four times D (FAVOR+'s 256 features for heads of 64): φ is computed for a block of
 * {@value #BLOCK} rows when they are needed, and again in the backward.
 *
 * <p><b>Stabiliser.</b> With an exponential map the state is kept as S·e^{-M} and z·e^{-M}, M
 * the largest peak ({@link FeatureMap#prepare}) of the keys summed so far (a running maximum,
 * starting from the continued state's; without a causal context, raised a block of keys at a
 * time): a key that raises M first rescales S and z by
 * e^{M_old - M_new} ≤ 1, so every stored term is at most |v|, whatever the scale of the
 * exponents. A query's features are shifted by its own peak. Both shifts are common to the
 * numerator and the denominator of an output, so they cancel (but for {@code eps}, which is added
 * to the shifted denominator) and take no gradient; in the causal case query i sees M_{p(i)},
 * which depends only on the keys it may see. Maps that cannot overflow have peak 0 and M = 0.
 *
 * <p><b>Backward.</b> With the output gradient g_i, {@code gn_i = g_i / den_i} and
 * {@code gd_i = -(g_i · out_i) / den_i}:
 * <pre>
 *   dφq_i = S gn_i + gd_i z                                   (the S, z query i saw)
 *   R_j = Σ_{i sees j} φq_i gn_iᵀ e^{M_j - M_{p(i)}},  r_j = Σ_{i sees j} gd_i φq_i e^{M_j - M_{p(i)}}
 *   dφk_j = R_j v_j + r_j,   dv_j = R_jᵀ φk_j                  (φk_j shifted by M_j)
 *   dq_i, dk_j: dφ through the map ({@link FeatureMap#backward})
 * </pre>
 * Causal: a forward scan again for dφq (recomputing S, z and the rescalings), then a reverse scan
 * for R and r, rescaled by e^{M_j - M_{j+1}} as it passes a key that had raised M. Non-causal: S
 * and z are kept from the forward, R and r summed over every query. Features are recomputed in
 * each scan instead of stored.
 *
 * <p>Precision: the running sums and every product are in double precision (a float32 sum of a
 * million positive terms would lose the last ones); inputs, outputs and gradients are float32.
 *
 * <p>Memory: on the CPU backend the inputs, output and output gradient are read in place
 * ({@link HostArrays}); besides the output and the three input gradients the op keeps each
 * query's denominator ([B, H, Lq] floats), with a causal context each key's stabiliser
 * ([B, H, Lk] floats), in the backward one double per query of a head being processed, and
 * O(F·Dv) per head. Batch elements and heads run in parallel.
 *
 * <p>After the forward, {@link #state()} gives {S·e^{-M} [B, H, F, Dv], z·e^{-M} [B, H, 1, F],
 * M [B, H, 1, 1]} after the last key, in float32, to continue from: the recurrent state of
 * incremental decoding (the paper's §3.4). A continued state is a constant: no gradient flows into
 * it.
 */
class KernelProduct extends CustomFunction {

    /** Rows the map prepares at once. */
    private static final int BLOCK = 8;

    private final FeatureMap map;
    private final boolean causal;
    private final double eps;
    /** [B·Lk], non-zero where the key is padded; null when none is. */
    private final float[] padded;
    /** {S·e^{-M}, z·e^{-M}, M} to continue from, or null. */
    private final List<Tensor> initial;
    private Tensor[] inputs;
    private Tensor out;
    private Sizes n;
    /** [B·H·Lq]: each query's denominator. */
    private float[] denominators;
    /** Causal only, [B·H·Lk]: the stabiliser M_j after key j (-∞ before the first unpadded key). */
    private float[] keyShifts;
    /** Per head, after the last key: S·e^{-M} [F·Dv], z·e^{-M} [F] and M. */
    private double[][] sums;
    private double[][] normalisers;
    private float[] shifts;

    /**
     * @param map            φ, applied to every query and key row
     * @param causal         whether query i sees only the keys up to its end-aligned position
     * @param eps            added to every denominator
     * @param keyPaddingMask [B, Lk], non-zero where a key is padded, or null
     * @param state          {S·e^{-M} [B, H, F, Dv], z·e^{-M} [B, H, 1, F], M [B, H, 1, 1]} of earlier
     *                       keys as {@link #state()} returned it, or null to start from none
     */
    KernelProduct(FeatureMap map, boolean causal, double eps, Tensor keyPaddingMask, List<Tensor> state) {
        this.map = map;
        this.causal = causal;
        this.eps = eps;
        this.padded = keyPaddingMask == null ? null : HostArrays.read(keyPaddingMask);
        this.initial = state;
    }

    @Override
    protected String name() {
        return "kernelProduct";
    }

    /**
     * {S·e^{-M} [B, H, F, Dv], z·e^{-M} [B, H, 1, F], M [B, H, 1, 1]} after the last key, in
     * float32: the state to continue from.
     */
    List<Tensor> state() {
        if (sums == null) {
            throw new IllegalStateException(name() + ": no state before the forward");
        }
        float[] s = new float[n.heads * n.f * n.dv];
        float[] z = new float[n.heads * n.f];
        for (int bh = 0; bh < n.heads; bh++) {
            for (int e = 0; e < n.f * n.dv; e++) {
                s[bh * n.f * n.dv + e] = (float) sums[bh][e];
            }
            for (int f = 0; f < n.f; f++) {
                z[bh * n.f + f] = (float) normalisers[bh][f];
            }
        }
        ComputeBackend backend = inputs[0].backend();
        return List.of(Tensor.of(backend, s, n.batch, n.h, n.f, n.dv), Tensor.of(backend, z, n.batch, n.h, 1, n.f),
                Tensor.of(backend, shifts.clone(), n.batch, n.h, 1, 1));
    }

    /** in: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv]; out [B, H, Lq, Dv]. */
    @Override
    protected Tensor forward(Tensor... in) {
        inputs = in;
        n = new Sizes(in[0], in[1], in[2], map.size(in[0].size(3)));
        float[] q = HostArrays.read(in[0]);
        float[] k = HostArrays.read(in[1]);
        float[] v = HostArrays.read(in[2]);
        float[][] start = initial == null ? null : initial.stream().map(HostArrays::read).toArray(float[][]::new);
        HostArrays.Output o = new HostArrays.Output(in[0].backend(), n.batch, n.h, n.lq, n.dv);
        denominators = new float[n.heads * n.lq];
        keyShifts = causal ? new float[n.heads * n.lk] : null;
        sums = new double[n.heads][];
        normalisers = new double[n.heads][];
        shifts = new float[n.heads];
        IntStream.range(0, n.heads).parallel().forEach(bh -> new Head(bh, q, k, v, start).forward(o.data()));
        out = o.tensor();
        return out;
    }

    @Override
    protected Tensor[] backward(Tensor gradOut) {
        float[] q = HostArrays.read(inputs[0]);
        float[] k = HostArrays.read(inputs[1]);
        float[] v = HostArrays.read(inputs[2]);
        float[] o = HostArrays.read(out);
        float[] g = HostArrays.read(gradOut);
        float[][] start = initial == null ? null : initial.stream().map(HostArrays::read).toArray(float[][]::new);
        ComputeBackend backend = inputs[0].backend();
        HostArrays.Output dq = new HostArrays.Output(backend, inputs[0].shape());
        HostArrays.Output dk = new HostArrays.Output(backend, inputs[1].shape());
        HostArrays.Output dv = new HostArrays.Output(backend, inputs[2].shape());
        IntStream.range(0, n.heads).parallel().forEach(bh -> new Head(bh, q, k, v, start)
                .backward(o, g, dq.data(), dk.data(), dv.data()));
        return new Tensor[] {dq.tensor(), dk.tensor(), dv.tensor()};
    }

    /** e^{from - to}, the factor that rescales sums kept relative to e^{from} to e^{to} (to ≥ from); 0 from -∞. */
    private static double rescaling(double from, double to) {
        return from == Double.NEGATIVE_INFINITY ? 0 : from == to ? 1 : Math.exp(from - to);
    }

    /**
     * Σ x[xo + e]·y[yo + e] over e &lt; length, in four interleaved partial sums (independent
     * additions the processor can overlap; the order differs from a plain loop only by rounding).
     */
    static double dot(double[] x, int xo, double[] y, int yo, int length) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int e = 0;
        for (; e + 3 < length; e += 4) {
            s0 += x[xo + e] * y[yo + e];
            s1 += x[xo + e + 1] * y[yo + e + 1];
            s2 += x[xo + e + 2] * y[yo + e + 2];
            s3 += x[xo + e + 3] * y[yo + e + 3];
        }
        for (; e < length; e++) {
            s0 += x[xo + e] * y[yo + e];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** y[yo ..] += a · x[xo .. xo + length). */
    static void axpy(double a, double[] x, int xo, double[] y, int yo, int length) {
        for (int e = 0; e < length; e++) {
            y[yo + e] += a * x[xo + e];
        }
    }

    /**
     * One batch element and head: its running state and the scans over its rows. Rows are handled
     * in blocks of {@value #BLOCK} where nothing forbids it (the map's preparation and backward
     * everywhere; the sums and products of the non-causal case), so that a row of S or R is used for
     * a whole block while it is in the processor's cache; a causal scan takes its rows one at a time.
     * Every block array is indexed by the rows' slots in their {@link Rows} block.
     */
    private final class Head {

        private final int bh;
        private final int batch;
        private final float[] v;
        private final float[][] start;
        /** S·e^{-M} [F·Dv] and z·e^{-M} [F] of the keys scanned so far, and M. */
        private double[] s;
        private double[] z;
        private double shift;
        private final Rows queries;
        private final Rows keys;
        private final double[][] phi = new double[BLOCK][n.f];
        private final double[][] dphi = new double[BLOCK][n.f];
        private final double[][] values = new double[BLOCK][n.dv];
        private final double[][] products = new double[BLOCK][n.dv];
        private final double[][] dx = new double[BLOCK][n.d];
        private final double[] weights = new double[BLOCK];

        Head(int bh, float[] q, float[] k, float[] v, float[][] start) {
            this.bh = bh;
            this.batch = bh / n.h;
            this.v = v;
            this.start = start;
            this.queries = new Rows(q, bh * n.lq, n.lq);
            this.keys = new Rows(k, bh * n.lk, n.lk);
        }

        /** S, z and M before the first key: the continued state's, or none. */
        private void begin() {
            s = new double[n.f * n.dv];
            z = new double[n.f];
            shift = Double.NEGATIVE_INFINITY;
            if (start != null) {
                for (int e = 0; e < s.length; e++) {
                    s[e] = start[0][bh * s.length + e];
                }
                for (int f = 0; f < n.f; f++) {
                    z[f] = start[1][bh * n.f + f];
                }
                shift = start[2][bh];
            }
        }

        private boolean isPadded(int j) {
            return padded != null && padded[batch * n.lk + j] != 0f;
        }

        void forward(float[] o) {
            begin();
            if (causal) {
                int offset = n.lk - n.lq;
                for (int j = 0; j < n.lk; j++) {
                    int slot = keys.slot(j, false);
                    if (!isPadded(j)) {
                        raiseShift(keys.peaks[slot]);
                        keyFeatures(j, slot, shift);
                        accumulate(s, z, null, values, slot, 1);
                    }
                    keyShifts[bh * n.lk + j] = (float) shift;
                    if (j >= offset) {
                        emit(j - offset, queries.slot(j - offset, false), 1, o);
                    }
                }
            } else {
                for (int j = 0; j < n.lk; j += BLOCK) {
                    int count = keys.block(j);
                    for (int r = 0; r < count; r++) {
                        if (!isPadded(j + r)) {
                            raiseShift(keys.peaks[r]);
                        }
                    }
                    for (int r = 0; r < count; r++) {
                        keyFeatures(j + r, r, shift);
                    }
                    accumulate(s, z, null, values, 0, count);
                }
                for (int i = 0; i < n.lq; i += BLOCK) {
                    emit(i, 0, queries.block(i), o);
                }
            }
            sums[bh] = s;
            normalisers[bh] = z;
            shifts[bh] = (float) shift;
        }

        void backward(float[] o, float[] g, float[] dq, float[] dk, float[] dv) {
            double[] gd = new double[n.lq];
            double[] r = new double[n.f * n.dv];
            double[] rz = new double[n.f];
            if (causal) {
                begin();
                int offset = n.lk - n.lq;
                for (int j = 0; j < n.lk; j++) {
                    int slot = keys.slot(j, false);
                    if (!isPadded(j)) {
                        raiseShift(keys.peaks[slot]);
                        keyFeatures(j, slot, shift);
                        accumulate(s, z, null, values, slot, 1);
                    }
                    if (j >= offset) {
                        queryGradient(j - offset, queries.slot(j - offset, false), 1, o, g, gd, dq);
                    }
                }
                for (int j = n.lk - 1; j >= 0; j--) {
                    if (j + 1 < n.lk) {
                        double factor = rescaling(keyShifts[bh * n.lk + j], keyShifts[bh * n.lk + j + 1]);
                        if (factor != 1) {
                            scale(r, rz, factor);
                        }
                    }
                    if (j >= offset) {
                        int slot = queries.slot(j - offset, true);
                        queryFeatures(slot, 1);
                        scaledGradients(j - offset, slot, 1, g);
                        weights[slot] = gd[j - offset];
                        accumulate(r, rz, weights, products, slot, 1);
                    }
                    keyGradient(j, keys.slot(j, true), 1, keyShifts[bh * n.lk + j], r, rz, dk, dv);
                }
            } else {
                s = sums[bh];
                z = normalisers[bh];
                for (int i = 0; i < n.lq; i += BLOCK) {
                    int count = queries.block(i);
                    queryGradient(i, 0, count, o, g, gd, dq);
                    accumulate(r, rz, weights, products, 0, count);   // products hold gn, weights gd
                }
                for (int j = 0; j < n.lk; j += BLOCK) {
                    keyGradient(j, 0, keys.block(j), shifts[bh], r, rz, dk, dv);
                }
            }
        }

        /** M = max(M, peak), rescaling S and z by e^{M_old - M_new} when it rises. */
        private void raiseShift(double peak) {
            float raised = (float) peak;
            if (raised > shift) {
                scale(s, z, rescaling(shift, raised));
                shift = raised;
            }
        }

        /** φ(k_j)·e^{-keyShift} into phi[slot] (zeros for a padded key) and v_j into values[slot]. */
        private void keyFeatures(int j, int slot, double keyShift) {
            if (isPadded(j)) {
                Arrays.fill(phi[slot], 0);
            } else {
                map.features(keys.pre[slot], keyShift, phi[slot]);
            }
            int vj = (bh * n.lk + j) * n.dv;
            for (int e = 0; e < n.dv; e++) {
                values[slot][e] = v[vj + e];
            }
        }

        /** φ(q) of the queries in slots from .. from + count - 1, each shifted by its own peak, into phi. */
        private void queryFeatures(int from, int count) {
            for (int r = from; r < from + count; r++) {
                map.features(queries.pre[r], queries.peaks[r], phi[r]);
            }
        }

        /** out_i = φq_iᵀ S / (φq_i · z + eps) for the queries i, i + 1, ... in slots from .. from + count - 1. */
        private void emit(int i, int from, int count, float[] o) {
            queryFeatures(from, count);
            project(s, from, count);
            for (int r = 0; r < count; r++) {
                double den = eps + dot(phi[from + r], 0, z, 0, n.f);
                int oi = (bh * n.lq + i + r) * n.dv;
                for (int e = 0; e < n.dv; e++) {
                    o[oi + e] = (float) (products[from + r][e] / den);
                }
                denominators[bh * n.lq + i + r] = (float) den;
            }
        }

        /** gn = g / den of the queries i, i + 1, ... into products[from ..]. */
        private void scaledGradients(int i, int from, int count, float[] g) {
            for (int r = 0; r < count; r++) {
                double den = denominators[bh * n.lq + i + r];
                int gi = (bh * n.lq + i + r) * n.dv;
                for (int e = 0; e < n.dv; e++) {
                    products[from + r][e] = g[gi + e] / den;
                }
            }
        }

        /**
         * For the queries i, i + 1, ... in slots from .. from + count - 1: gd = -(g · out) / den (into
         * gd and weights), dφq = S gn + gd z through the map into dq; leaves φq in phi and gn in
         * products.
         */
        private void queryGradient(int i, int from, int count, float[] o, float[] g, double[] gd, float[] dq) {
            queryFeatures(from, count);
            scaledGradients(i, from, count, g);
            for (int r = 0; r < count; r++) {
                int oi = (bh * n.lq + i + r) * n.dv;
                double dot = 0;
                for (int e = 0; e < n.dv; e++) {
                    dot += (double) g[oi + e] * o[oi + e];
                }
                gd[i + r] = -dot / denominators[bh * n.lq + i + r];
                weights[from + r] = gd[i + r];
            }
            contract(s, z, weights, products, from, count);
            map.backward(queries.x, queries.pre, phi, dphi, dx, from, count);
            for (int r = 0; r < count; r++) {
                store(dx[from + r], dq, (bh * n.lq + i + r) * n.d, n.d);
            }
        }

        /**
         * For the keys j, j + 1, ... in slots from .. from + count - 1, with φk shifted by
         * {@code keyShift}: dφk = R v + r through the map into dk, and dv = Rᵀ φk (padded keys: 0).
         */
        private void keyGradient(int j, int from, int count, double keyShift, double[] r, double[] rz, float[] dk,
                                 float[] dv) {
            for (int c = 0; c < count; c++) {
                keyFeatures(j + c, from + c, keyShift);
                weights[from + c] = 1;
            }
            contract(r, rz, weights, values, from, count);
            project(r, from, count);
            map.backward(keys.x, keys.pre, phi, dphi, dx, from, count);
            for (int c = 0; c < count; c++) {
                if (!isPadded(j + c)) {
                    store(products[from + c], dv, (bh * n.lk + j + c) * n.dv, n.dv);
                    store(dx[from + c], dk, (bh * n.lk + j + c) * n.d, n.d);
                }
            }
        }

        /**
         * sum += Σ_r phi[r] rows[r]ᵀ [F·Dv] and total += Σ_r w_r phi[r] [F] over the slots from ..
         * from + count - 1 ({@code w} null: weights 1), a row of sum at a time for the whole block.
         */
        private void accumulate(double[] sum, double[] total, double[] w, double[][] rows, int from, int count) {
            for (int f = 0; f < n.f; f++) {
                for (int r = from; r < from + count; r++) {
                    total[f] += (w == null ? 1 : w[r]) * phi[r][f];
                    axpy(phi[r][f], rows[r], 0, sum, f * n.dv, n.dv);
                }
            }
        }

        /** products[r] = phi[r]ᵀ sum [Dv] over the slots from .. from + count - 1. */
        private void project(double[] sum, int from, int count) {
            for (int r = from; r < from + count; r++) {
                Arrays.fill(products[r], 0);
            }
            for (int f = 0; f < n.f; f++) {
                for (int r = from; r < from + count; r++) {
                    axpy(phi[r][f], sum, f * n.dv, products[r], 0, n.dv);
                }
            }
        }

        /** dphi[r][f] = w_r · total[f] + sum[f, ·] · rows[r] over the slots from .. from + count - 1. */
        private void contract(double[] sum, double[] total, double[] w, double[][] rows, int from, int count) {
            for (int f = 0; f < n.f; f++) {
                for (int r = from; r < from + count; r++) {
                    dphi[r][f] = w[r] * total[f] + dot(sum, f * n.dv, rows[r], 0, n.dv);
                }
            }
        }
    }

    /** sum *= factor and total *= factor. */
    private static void scale(double[] sum, double[] total, double factor) {
        for (int e = 0; e < sum.length; e++) {
            sum[e] *= factor;
        }
        for (int f = 0; f < total.length; f++) {
            total[f] *= factor;
        }
    }

    /**
     * The query or key rows of one head, prepared by the map {@value #BLOCK} at a time: the rows as
     * double, what the map prepared and their peaks, for the scans to take one by one.
     */
    private final class Rows {

        private final float[] data;
        private final int base;
        private final int length;
        private final double[][] x = new double[BLOCK][n.d];
        private final double[][] pre = new double[BLOCK][n.f];
        private final double[] peaks = new double[BLOCK];
        private int first;
        private int count;

        /** Rows {@code base .. base + length - 1} of {@code data}, [·, D] row-major. */
        Rows(float[] data, int base, int length) {
            this.data = data;
            this.base = base;
            this.length = length;
        }

        /** Prepares the rows from j on as a block (j in slot 0) and returns how many it holds. */
        int block(int j) {
            if (first != j || count == 0) {
                prepare(j, false);
            }
            return count;
        }

        /**
         * The slot of row j, preparing the block that holds it when it is not the current one: j
         * and the rows after it, or, {@code reverse}, the rows before it and j.
         */
        int slot(int j, boolean reverse) {
            if (j < first || j >= first + count) {
                prepare(j, reverse);
            }
            return j - first;
        }

        private void prepare(int j, boolean reverse) {
            first = reverse ? Math.max(0, j - BLOCK + 1) : j;
            count = Math.min(BLOCK, length - first);
            for (int r = 0; r < count; r++) {
                int offset = (base + first + r) * n.d;
                for (int c = 0; c < n.d; c++) {
                    x[r][c] = data[offset + c];
                }
            }
            map.prepare(x, count, pre, peaks);
        }
    }

    /** to[at ..] = (float) from[0 .. length). */
    private static void store(double[] from, float[] to, int at, int length) {
        for (int e = 0; e < length; e++) {
            to[at + e] = (float) from[e];
        }
    }

    /** The sizes of one application; {@code heads} counts batch elements times heads, {@code f} features per row. */
    private record Sizes(int batch, int h, int heads, int lq, int lk, int d, int dv, int f) {
        Sizes(Tensor q, Tensor k, Tensor v, int features) {
            this(q.size(0), q.size(1), q.size(0) * q.size(1), q.size(2), k.size(2), q.size(3), v.size(3), features);
        }
    }
}
