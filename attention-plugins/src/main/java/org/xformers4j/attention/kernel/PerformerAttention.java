package org.xformers4j.attention.kernel;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.List;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.component.attention.KernelFeatureMap;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.ReplayableRandom;
import org.xformers4j.tensor.ReplayableState;
import org.xformers4j.tensor.Tensor;

/**
 * Performer attention with FAVOR+ (Choromanski et al., 2021, "Rethinking Attention with
 * Performers"): kernel attention whose feature map is the positive random-feature estimator of
 * the softmax kernel (positive random features, Lemma 1: h(x) = exp(-|x|²/2), f = exp), with
 * orthogonal random features (the "+" of FAVOR+):
 * <pre>
 *   x' = x · d^(-1/4)                                   (so that φ(q)·φ(k) ≈ exp(q·k / sqrt(d)))
 *   φ(x)_i = exp(w_i · x' - |x'|² / 2) / sqrt(m),  i = 1 .. m,   W = [w_1 .. w_m] [m, d]
 *   E[φ(q)·φ(k)] = exp(q'·k') = exp(q·k / sqrt(d))       for w_i ~ N(0, I_d)
 *   out_i = Σ_j φ(q_i)·φ(k_j) v_j / (Σ_j φ(q_i)·φ(k_j) + eps)     over the keys query i may see
 * </pre>
 * computed without the [Lq, Lk] matrix by the fused {@link KernelProduct} (running sums over the
 * keys, the paper's prefix-sum unidirectional case when causal), which computes φ row by row
 * inside its scans ({@link PositiveRandomFeatures}) and again in its backward rather than storing
 * the [N, m] features, four times the size of the keys for m = 256 and d = 64. Time O(N·m·d);
 * memory besides the output and the input gradients one float per query (and per key when
 * causal) and O(m·Dv) per head.
 *
 * <p>The random matrix W is drawn as performer-pytorch's {@code gaussian_orthogonal_random_matrix}
 * with scaling 0: ⌈m/d⌉ blocks of d orthonormal rows (Gram–Schmidt of a Gaussian d×d block; the
 * last block truncated to the rows still needed), each row then rescaled to the norm of an
 * independent Gaussian d-vector (a chi(d)-distributed length), so every row is marginally
 * N(0, I_d) while rows within a block are exactly orthogonal. One W serves all heads (as in
 * performer-pytorch), so {@link #features} ignores its head argument.
 *
 * <p>Choices the paper leaves open:
 * <ul>
 *   <li><b>Numerical stabiliser.</b> As in the authors' code and performer-pytorch, a constant is
 *       subtracted from the exponents before exp: for queries the maximum over the m exponents of
 *       each query row; for keys, unlike them, not the maximum over every key of the (batch
 *       element, head) but the running maximum over the unpadded keys seen so far, the sums of
 *       earlier keys rescaled by exp(M_old - M_new) ≤ 1 when a key raises it (as online softmax
 *       does; {@link KernelProduct}). Query i of a causal sequence thus sees a stabiliser that
 *       depends only on the keys it may see, which a recurrent decoder needs (it cannot know
 *       later keys) and which keeps later keys from moving earlier outputs even through rounding.
 *       Both stabilisers are constants over what one output row sums, so they multiply its
 *       numerator and denominator alike and cancel: the output is the kernel attention of the
 *       unstabilised φ above, which {@link #features} returns (that is what
 *       {@code matches-kernel-definition} compares with). They are treated as constants (no
 *       gradient flows through them), which is exact because they cancel. Exponents are at most 0
 *       after the shift and the kept sums are at most Σ|v|, so nothing overflows; the difference
 *       to the unstabilised formula is only rounding and the scale at which {@code eps} acts (see
 *       below). Exponents, features and sums are computed in double precision.</li>
 *   <li>Unlike performer-pytorch, no constant is added to the features (its {@code eps = 1e-4}
 *       inside φ), which would make φ no longer an unbiased estimator of the softmax kernel;
 *       instead {@code eps} is added to the denominator, as in {@link LinearAttention}, where
 *       it only matters for a query whose keys are all padded: it then outputs zeros with zero
 *       gradients. It acts on the stabilised features, whose scale depends on the data (the
 *       largest query and key feature is 1/sqrt(m), but a query's denominator may be orders of
 *       magnitude smaller, especially for the first queries of a causal sequence), so its default
 *       is 1e-12 rather than {@code linear}'s 1e-6 (with 1e-6, early causal rows were off by
 *       ~1e-3): small enough never to distort a denominator that is not 0, yet a normal
 *       float32.</li>
 *   <li><b>Redraws.</b> W is drawn when the mechanism is initialised, from a generator seeded with
 *       {@code seed}. With {@code redrawEvery} = n &gt; 0, forward calls in training mode are
 *       counted (one per training step and layer, since a layer calls its mechanism once per
 *       forward) and W is redrawn from the same generator at the start of the (n+1)-th, (2n+1)-th,
 *       ... training call, so each W serves exactly n training calls and the features of the
 *       last call are those {@link #features} returns. Evaluation mode ({@link #eval()}) neither
 *       counts nor redraws, and 0 never redraws. Two instances with the same seed draw the same
 *       sequence of matrices, so runs are reproducible; W is not saved in a checkpoint, so a
 *       resumed run starts the sequence again from the seed. Every layer with the same seed draws
 *       the same W (as {@code lsh} does with its rotations).</li>
 *   <li>A key padding mask leaves the padded keys out of the sums (and out of the stabiliser).</li>
 *   <li>An additive bias and attention dropout are rejected (no scores or weights are formed);
 *       cross-attention is supported; with a causal context there may be fewer queries than keys
 *       (end-aligned), not more.</li>
 *   <li><b>Recurrent decoding</b> ({@link RecurrentAttention}, the paper's prefix sums kept as an
 *       RNN state, as for {@code linear}): the state is {S [B, H, m, Dv], z [B, H, 1, m], M [B, H,
 *       1, 1]}: the sums relative to the running key stabiliser M, and M itself (-∞ before the
 *       first unpadded key), O(m·Dv) per head whatever the number of positions. A step continues
 *       the running maximum and the rescaling exactly as one causal pass does, so a prompt and then
 *       single tokens give its outputs to rounding (the state is kept in float32 between steps). A
 *       step neither counts towards nor triggers a redraw: the state holds features of the
 *       current W.</li>
 * </ul>
 * The capabilities declare {@code convergesWith} 64, 256 and 1024 features, so the conformance
 * suite's {@code approximates-full} shows the error against softmax attention falling as m grows.
 *
 * <p>FLOPs: the projections x·W of queries and keys, {@code 2·B·H·(Lq + Lk)·D·m} forward and as
 * much backward (W is a constant: only the inputs' gradient), plus the kernel product with F = m
 * features ({@link KernelFlops}). Exponentials and stabilisers are elementwise and not counted.
 */
@ComponentInfo(name = "performer",
        summary = "FAVOR+ kernel attention: positive orthogonal random features approximating softmax, "
                + "linear in the length; causal by running sums",
        reference = "Choromanski et al., 2021, Rethinking Attention with Performers")
@AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, time = "O(N*m*d)", memory = "O(N*d + m*d)",
        convergesWith = {"features=64", "features=256", "features=1024"}, linearMemory = true)
public final class PerformerAttention extends Module
        implements RecurrentAttention, KernelFeatureMap, FlopCount, ReplayableState {

    private static final String NAME = "performer";

    @Config(description = "Number m of random features; the approximation of softmax improves as it grows.")
    @Range(min = 1)
    private int features = 256;

    @Config(description = "Training forward calls between redraws of the random features (0: never redraw).")
    @Range(min = 0)
    private int redrawEvery = 1000;

    @Config(description = "Seed of the generator the random features are drawn from (at initialisation and "
            + "at every redraw).")
    private long seed = 20210309L;

    @Config(description = "Added to every denominator φ(q)·Σφ(k), so that a query whose keys are all padded "
            + "outputs zeros.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-12f;

    private int headDim = -1;
    private ReplayableRandom generator;
    /** [d, m], row-major: W transposed and scaled by d^(-1/4), rounded to float (what forward multiplies by). */
    private float[] projection;
    private int trainingCalls;
    private int draws;

    /** For OLCUT. */
    private PerformerAttention() {
    }

    /** FAVOR+ with {@code features} random features, redrawn every {@code redrawEvery} training calls (0: never). */
    public PerformerAttention(int features, int redrawEvery, long seed, float eps) {
        this.features = features;
        this.redrawEvery = redrawEvery;
        this.seed = seed;
        this.eps = eps;
        postConfig();
    }

    public int features() {
        return features;
    }

    public int redrawEvery() {
        return redrawEvery;
    }

    public long seed() {
        return seed;
    }

    public float eps() {
        return eps;
    }

    /** How many random matrices have been drawn so far (1 after initialisation, one more per redraw). */
    public int draws() {
        return draws;
    }

    /** What forward calls advance: the calls counted towards the next redraw, the generator, the current W. */
    private record CallState(int headDim, Object generator, float[] projection, int trainingCalls, int draws) {
    }

    /**
     * The counter of training calls, the generator and the current W, which training calls advance:
     * a recomputation under activation checkpointing sets them back, so that it neither counts as a
     * call nor redraws W (see {@link org.xformers4j.tensor.ActivationCheckpoint}).
     */
    @Override
    public Object saveState() {
        return new CallState(headDim, generator == null ? null : generator.saveState(), projection, trainingCalls,
                draws);
    }

    @Override
    public void restoreState(Object state) {
        if (!(state instanceof CallState saved)) {
            throw new IllegalArgumentException(NAME + ": not a saved state of this mechanism: " + state);
        }
        headDim = saved.headDim();
        if (saved.generator() == null) {
            generator = null;
        } else {
            if (generator == null) {
                generator = new ReplayableRandom(seed);
            }
            generator.restoreState(saved.generator());
        }
        projection = saved.projection();          // never written in place: a redraw assigns a new array
        trainingCalls = saved.trainingCalls();
        draws = saved.draws();
    }

    /** Draws the first W from a generator seeded with {@code seed}; {@code rng} is not used. */
    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        start(headDim);
    }

    private void start(int d) {
        headDim = d;
        generator = new ReplayableRandom(seed);
        trainingCalls = 0;
        draws = 0;
        draw();
    }

    /** W as double [m][d] (the rows w_i, before the d^(-1/4) input scaling), as forward uses it. */
    public double[][] randomFeatures() {
        requireInitialized();
        double scale = Math.pow(headDim, 0.25);
        double[][] w = new double[features][headDim];
        for (int c = 0; c < headDim; c++) {
            for (int i = 0; i < features; i++) {
                w[i][c] = projection[c * features + i] * scale;
            }
        }
        return w;
    }

    /** A fresh W: orthonormal Gaussian blocks with chi(d) row norms, stored as Wᵀ·d^(-1/4) [d, m]. */
    private void draw() {
        int d = headDim;
        int m = features;
        double[][] w = new double[m][];
        for (int start = 0; start < m; start += d) {
            double[][] block = orthonormalBlock(d);
            for (int r = 0; r < d && start + r < m; r++) {
                w[start + r] = block[r];
            }
        }
        double inputScale = Math.pow(d, -0.25);
        float[] p = new float[d * m];
        for (int i = 0; i < m; i++) {
            double norm = 0;
            for (int c = 0; c < d; c++) {
                double g = generator.nextGaussian();
                norm += g * g;
            }
            norm = Math.sqrt(norm);
            for (int c = 0; c < d; c++) {
                p[c * m + i] = (float) (w[i][c] * norm * inputScale);
            }
        }
        projection = p;
        draws++;
    }

    /** d orthonormal rows: modified Gram–Schmidt of a d×d Gaussian matrix (redrawing a row that degenerates). */
    private double[][] orthonormalBlock(int d) {
        double[][] rows = new double[d][d];
        for (int r = 0; r < d; r++) {
            double norm;
            do {
                for (int c = 0; c < d; c++) {
                    rows[r][c] = generator.nextGaussian();
                }
                for (int s = 0; s < r; s++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += rows[r][c] * rows[s][c];
                    }
                    for (int c = 0; c < d; c++) {
                        rows[r][c] -= dot * rows[s][c];
                    }
                }
                norm = 0;
                for (int c = 0; c < d; c++) {
                    norm += rows[r][c] * rows[r][c];
                }
                norm = Math.sqrt(norm);
            } while (!(norm > 1e-6));
            for (int c = 0; c < d; c++) {
                rows[r][c] /= norm;
            }
        }
        return rows;
    }

    /**
     * φ(x)_i = exp(w_i·x' - |x'|²/2) / sqrt(m) with x' = x·d^(-1/4), unstabilised, in double
     * precision with the current W (the one the last forward call used); the same for every head.
     */
    @Override
    public double[] features(int head, double[] x) {
        requireInitialized();
        if (x.length != headDim) {
            throw new IllegalArgumentException(NAME + ": a vector of " + x.length + " elements for head size " + headDim);
        }
        PositiveRandomFeatures map = featureMap();
        double[][] exponents = new double[1][features];
        map.prepare(new double[][] {x}, 1, exponents, new double[1]);
        double[] out = new double[features];
        map.features(exponents[0], 0, out);
        return out;
    }

    /** φ with the current W, for the fused product. */
    private PositiveRandomFeatures featureMap() {
        return new PositiveRandomFeatures(projection, headDim, features);
    }

    private void requireInitialized() {
        if (projection == null) {
            throw new IllegalStateException(NAME + ": not initialised (no forward call or initialize yet)");
        }
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        requireHeadSize(query);
        if (isTraining() && redrawEvery > 0) {
            if (trainingCalls == redrawEvery) {
                draw();
                trainingCalls = 0;
            }
            trainingCalls++;
        }
        return product(context, null).apply(query, key, value);
    }

    /**
     * The new positions continuing {S [B, H, m, Dv], z [B, H, 1, m], M [B, H, 1, 1]} (null before
     * the first), with the running key stabiliser M described in the class comment.
     */
    @Override
    public Step step(Tensor query, Tensor key, Tensor value, AttentionContext context, List<Tensor> state) {
        int batch = query.size(0);
        int heads = query.size(1);
        requireHeadSize(query);
        KernelChecks.checkStep(NAME, query, key, value, context, state,
                new int[] {batch, heads, features, value.size(3)}, new int[] {batch, heads, 1, features},
                new int[] {batch, heads, 1, 1});
        KernelProduct product = product(context, state);
        return new Step(product.apply(query, key, value), product.state());
    }

    /** Starts the features for a mechanism used on its own (no layer called initialize), else checks the head size. */
    private void requireHeadSize(Tensor query) {
        int d = query.size(3);
        if (projection == null) {
            start(d);
        } else if (d != headDim) {
            throw new IllegalArgumentException(NAME + ": initialised for head size " + headDim + ", got query "
                    + KernelChecks.shape(query));
        }
    }

    /** The fused product of {@link #forward} and {@link #step}, continuing {@code state} (null: none). */
    private KernelProduct product(AttentionContext context, List<Tensor> state) {
        return new KernelProduct(featureMap(), context.causal(), eps, context.keyPaddingMask(), state);
    }

    @Override
    public double forwardFlops(Shape shape) {
        return projectionFlops(shape) + KernelFlops.forward(shape, features);
    }

    @Override
    public double backwardFlops(Shape shape) {
        return projectionFlops(shape) + KernelFlops.backward(shape, features);
    }

    /** x·W for the queries and the keys: 2·B·H·(Lq + Lk)·D·m. */
    private double projectionFlops(Shape shape) {
        return 2 * shape.batchHeads() * ((double) shape.queryLength() + shape.keyLength()) * shape.headDim()
                * features;
    }

    @Override
    public String toString() {
        return "PerformerAttention(features=" + features + ", redrawEvery=" + redrawEvery + ", seed=" + seed
                + ", eps=" + eps + ")";
    }
}
