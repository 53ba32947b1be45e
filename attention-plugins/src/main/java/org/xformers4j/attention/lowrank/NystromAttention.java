package org.xformers4j.attention.lowrank;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.attention.internal.ConvolutionTaps;
import org.xformers4j.attention.internal.DepthwiseConvolution;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Nyströmformer (Xiong et al., 2021, "Nyströmformer: A Nyström-Based Algorithm for Approximating
 * Self-Attention"): softmax attention approximated by the Nyström method over {@code m} landmark
 * queries Q̃ and keys K̃, the means of m consecutive segments of the queries and of the keys:
 *
 * <pre>
 *   F = softmax(Q K̃ᵀ / √d)      [Lq, m]
 *   A = softmax(Q̃ K̃ᵀ / √d)      [m, m]
 *   B = softmax(Q̃ Kᵀ / √d)      [m, Lk]
 *   out = F · A⁺ · (B · V)       [Lq, Dv]   (paper, eq. 14)
 *   out += conv_h(V)                        (optional skip, convKernel = K &gt; 0)
 * </pre>
 *
 * with q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv], each batch element
 * and head on its own. The products are taken right to left, so the largest buffers are [Lq, m]
 * and [m, Lk]: time O(N·m·(D + Dv) + m³·iterations), no N×N buffer.
 *
 * <p>The Moore–Penrose pseudo-inverse A⁺ is the paper's iteration (eq. 16), {@code pinvIterations}
 * times (default 6, as in the paper):
 *
 * <pre>
 *   Z₀ = Aᵀ / (max_i Σ_j |A_ij| · max_j Σ_i |A_ij|)
 *   Z ← ¼ Z (13I − AZ (15I − AZ (7I − AZ)))
 * </pre>
 *
 * Everything is built from autograd tensor operations (softmax, matmul, sums, max), so gradients
 * flow through the landmarks, the three kernels and the iteration (including Z₀'s scale).
 *
 * <p><b>Choices the paper leaves open.</b>
 * <ul>
 *   <li><b>Any length.</b> The paper takes n divisible by m. Here a length L is padded to
 *       ⌈L/m⌉·m and cut into m segments of s = ⌈L/m⌉ positions; the padded positions are masked.
 *       A landmark is the mean over the real (not padded, and for keys not key-padded) positions
 *       of its segment. A segment with no such position gives an empty landmark, which is masked
 *       out: an empty key landmark's column gets a −∞ score in F and A, an empty query
 *       landmark's row gets −∞ scores in A and B (so its rows of A and B are zero, and the
 *       iteration keeps the matching column of Z zero). With L ≥ m there are ⌈L/s⌉ ≤ m
 *       non-empty landmarks; with L &lt; m every position is its own landmark.</li>
 *   <li><b>Key padding.</b> A padded key is left out of its segment's mean and gets a −∞ score in
 *       B, so neither it nor its value has any influence. A batch element whose keys are all
 *       padded has all-zero F, A and B (a softmax row of −∞ is zeros, with a zero gradient) and
 *       outputs zeros.</li>
 *   <li><b>Z₀'s scale</b> is taken per batch element and head (the authors' code takes the maxima
 *       over the whole batch, which would make a batch element depend on the others); an all-zero
 *       A (all keys padded) has Z₀ = 0.</li>
 *   <li><b>Equals softmax attention</b> when every position is its own landmark (m ≥ L, segments of
 *       one position): then F = A = B = softmax(QKᵀ/√d) and out = A A⁺ A V = A V, up to the
 *       convergence of the iteration (which needs more than 6 iterations when A is ill-conditioned).
 *       The capabilities declare no {@code exactWhen}, since that setting depends on the length;
 *       they declare {@code convergesWith} landmarks 2, 4 and 8 (the conformance suite's length,
 *       with 30 iterations), so {@code approximates-full} shows the error falling to the
 *       iteration's tolerance.</li>
 *   <li><b>Cross-attention</b> (Lq ≠ Lk) is supported: the query and key landmarks are means of
 *       their own sequences, each cut into m segments; the paper's derivation does not need Q and
 *       K to have the same length.</li>
 *   <li><b>Causal use is refused:</b> each landmark is a mean over a whole segment and every output
 *       mixes all landmarks, so an output would depend on later positions whatever mask were put
 *       on the kernels.</li>
 *   <li>An additive bias and attention dropout are refused: the [Lq, Lk] attention matrix that
 *       they act on is never formed (the paper uses neither).</li>
 *   <li><b>The convolution skip on V</b> (the authors' code; off by default, {@code convKernel}
 *       = 0, so that the mechanism is the paper's approximation of softmax attention): with
 *       {@code convKernel} = K (odd) the output gains a depth-wise convolution of the values
 *       along the sequence, one centred kernel of K taps per head shared by its channels, zero
 *       padding at both ends, no bias, as the authors' {@code Conv2d(heads, heads, (K, 1),
 *       groups = heads)} (their configurations use K = 33 or 65). Padded keys' values are zeroed
 *       before it, as the authors multiply V by the mask. Its kernels [H, 1, K] are drawn as
 *       PyTorch's Conv2d draws them, U(-1/√K, 1/√K). It needs queries and values from one
 *       sequence, so cross-attention with it is refused.</li>
 * </ul>
 *
 * <p>FLOPs: the kernels F, A and B and the products with V, (Lq + Lk + m)·m·(D + Dv)
 * multiply-adds per batch element and head, and 4 m×m products per pseudo-inverse iteration:
 * forward {@code 2·B·H·[(Lq + Lk + m)·m·(D + Dv) + 4·m³·pinvIterations]}, backward twice that
 * (autograd through every product). Segment means and softmaxes are not counted.
 */
@ComponentInfo(name = "nystrom",
        summary = "Nystrom approximation of softmax attention over m landmark queries and keys (segment means), "
                + "with an iterative pseudo-inverse; linear in N",
        reference = "Xiong et al., 2021, Nystromformer: A Nystrom-Based Algorithm for Approximating Self-Attention")
@AttentionCapabilities(causal = false, crossAttention = true, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, time = "O(N*m*d)", memory = "O(N*m)",
        convergesWith = {"landmarks=2", "landmarks=4", "landmarks=8, pinvIterations=30"}, linearMemory = true)
public final class NystromAttention extends Module implements AttentionMechanism, FlopCount {

    private static final String NAME = "nystrom";

    @Config(description = "Number of landmarks m: the queries and the keys are each cut into m segments whose "
            + "means are the landmarks.")
    @Range(min = 1)
    private int landmarks = 64;

    @Config(description = "Iterations of the paper's Moore-Penrose pseudo-inverse approximation.")
    @Range(min = 1)
    private int pinvIterations = 6;

    @Config(description = "Kernel size K (odd) of the optional depth-wise convolution of the values along the "
            + "sequence, added to the output as a skip (the authors' code); 0 turns it off.")
    @Range(min = 0, max = 255)
    private int convKernel = 0;

    private int heads = -1;
    /** [H, 1, K]: each head's kernel of the convolution skip, null without it. */
    private Tensor convolution;

    /** For OLCUT. */
    private NystromAttention() {
    }

    /**
     * Nyström attention with {@code landmarks} landmarks, {@code pinvIterations} pseudo-inverse
     * iterations and a convolution skip on V of {@code convKernel} taps (0: none).
     */
    public NystromAttention(int landmarks, int pinvIterations, int convKernel) {
        this.landmarks = landmarks;
        this.pinvIterations = pinvIterations;
        this.convKernel = convKernel;
        postConfig();
    }

    @Override
    public void postConfig() {
        AttentionMechanism.super.postConfig();
        if (convKernel % 2 == 0 && convKernel != 0) {
            throw new PropertyException(NAME, "convKernel", NAME + ".convKernel = " + convKernel
                    + " must be odd (the convolution is centred on each position) or 0 for none");
        }
    }

    /** Creates the convolution skip's kernels for {@code heads} heads, when it has one; a second call with the same heads does nothing. */
    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        if (this.heads != -1) {
            if (heads != this.heads) {
                throw new IllegalStateException(NAME + ": initialised for " + this.heads + " heads, asked for "
                        + heads);
            }
            return;
        }
        this.heads = heads;
        if (convKernel > 0) {
            float bound = (float) (1 / Math.sqrt(convKernel));
            convolution = registerParameter("valueConvolution", Init.uniform(rng, -bound, bound, heads, 1,
                    convKernel));
        }
    }

    public int convKernel() {
        return convKernel;
    }

    public int landmarks() {
        return landmarks;
    }

    public int pinvIterations() {
        return pinvIterations;
    }

    /** q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        if (context.bias() != null) {
            throw new IllegalArgumentException(NAME + ": an additive bias is not supported: the [queryLength, "
                    + "keyLength] attention matrix it would be added to is never formed (got bias "
                    + Arrays.toString(context.bias().shape()) + ")");
        }
        if (context.dropout() > 0f) {
            throw new IllegalArgumentException(NAME + ": attention dropout " + context.dropout() + " is not "
                    + "supported: the attention weights are never formed (set attentionDropout to 0; residual "
                    + "dropout still applies)");
        }
        if (convKernel > 0 && query.size(2) != key.size(2)) {
            throw new IllegalArgumentException(NAME + ": the convolution skip (convKernel = " + convKernel + ") adds "
                    + "each position's neighbouring values to its output, so queries and keys must be one sequence "
                    + "(got " + query.size(2) + " queries and " + key.size(2) + " keys); set convKernel to 0 for "
                    + "cross-attention");
        }
        if (context.causal()) {
            throw new IllegalArgumentException(NAME + ": a causal context is not supported: each landmark is the "
                    + "mean of a whole segment of positions and every output mixes all the landmarks, so every "
                    + "output depends on later positions; use it for encoders and cross-attention");
        }
        ComputeBackend backend = query.backend();
        int batch = query.size(0);
        int lq = query.size(2);
        int lk = key.size(2);
        int d = query.size(3);
        float scale = (float) (1 / Math.sqrt(d));

        // 1 for a real key position of the padded length, [B, Lkp]
        int sk = segment(lk);
        int sq = segment(lq);
        float[] keyReal = new float[batch * landmarks * sk];
        float[] padding = context.keyPaddingMask() == null ? null : context.keyPaddingMask().toFloatArray();
        for (int n = 0; n < batch; n++) {
            for (int j = 0; j < lk; j++) {
                keyReal[n * landmarks * sk + j] = padding != null && padding[n * lk + j] != 0f ? 0f : 1f;
            }
        }
        float[] queryReal = new float[landmarks * sq];
        Arrays.fill(queryReal, 0, lq, 1f);
        Tensor keyRealT = Tensor.of(backend, keyReal, batch, 1, landmarks * sk, 1);
        Tensor queryRealT = Tensor.of(backend, queryReal, 1, 1, landmarks * sq, 1);

        // landmarks [B, H, m, D] and 1 where a landmark is empty: keys [B, 1, 1, m], queries [1, 1, m, 1]
        Tensor keyCount = keyRealT.reshape(batch, 1, landmarks, sk).sum(3, false);       // [B, 1, m]
        Tensor queryCount = queryRealT.reshape(1, 1, landmarks, sq).sum(3, false);       // [1, 1, m]
        Tensor kTilde = segmentMeans(key, keyRealT, keyCount, sk);
        Tensor qTilde = segmentMeans(query, queryRealT, queryCount, sq);
        Tensor zero = Tensor.zeros(backend);
        Tensor emptyKey = keyCount.eq(zero).reshape(batch, 1, 1, landmarks);
        Tensor emptyQuery = queryCount.eq(zero).reshape(1, 1, landmarks, 1);

        Tensor qs = query.mul(scale);
        Tensor qTildeS = qTilde.mul(scale);
        Tensor f = qs.matmul(kTilde, false, true).maskedFill(emptyKey, Float.NEGATIVE_INFINITY).softmax(-1);
        Tensor a = qTildeS.matmul(kTilde, false, true)
                .maskedFill(emptyKey.maximum(emptyQuery), Float.NEGATIVE_INFINITY).softmax(-1);
        Tensor bScores = qTildeS.matmul(key, false, true);
        Tensor bMask = emptyQuery;
        if (padding != null) {
            Tensor padded = context.keyPaddingMask().eq(zero).rsub(1f).reshape(batch, 1, 1, lk);
            bMask = padded.maximum(emptyQuery);
        }
        Tensor b = bScores.maskedFill(bMask, Float.NEGATIVE_INFINITY).softmax(-1);

        Tensor z = pinv(a, keyCount.sum(2, false).eq(zero).reshape(batch, 1, 1, 1));
        Tensor out = f.matmul(z.matmul(b.matmul(value)));
        return convKernel == 0 ? out : out.add(convolutionSkip(value, context));
    }

    /** The depth-wise convolution of the values along the sequence, padded keys' values zeroed first. */
    private Tensor convolutionSkip(Tensor value, AttentionContext context) {
        if (convolution == null) {
            throw new IllegalStateException(NAME + ": not initialised (a multi-head layer calls initialize; the "
                    + "convolution skip has kernels)");
        }
        if (value.size(1) != heads) {
            throw new IllegalArgumentException(NAME + ": initialised for " + heads + " heads, got value "
                    + Arrays.toString(value.shape()));
        }
        Tensor mask = context.keyPaddingMask();
        Tensor values = mask == null ? value : value.maskedFill(mask.reshape(value.size(0), 1, value.size(2), 1), 0f);
        ConvolutionTaps taps = ConvolutionTaps.sequence(convKernel, value.size(2), false);
        return new DepthwiseConvolution(taps).apply(values, convolution);
    }

    /** Positions per segment for a length: ⌈length / m⌉. */
    private int segment(int length) {
        return (length + landmarks - 1) / landmarks;
    }

    /**
     * The means of x [B, H, L, D] over the real positions of each of the m segments of s positions
     * of its padded length: real [B|1, 1, m·s, 1] of 0/1, count [B|1, 1, m] the real positions of each
     * segment; an empty segment's mean is 0 (it is masked anyway).
     */
    private Tensor segmentMeans(Tensor x, Tensor real, Tensor count, int s) {
        int batch = x.size(0);
        int heads = x.size(1);
        int length = x.size(2);
        int d = x.size(3);
        Tensor padded = x;
        if (landmarks * s > length) {
            padded = Tensor.concat(2, x, Tensor.zeros(x.backend(), batch, heads, landmarks * s - length, d));
        }
        Tensor sums = padded.mul(real).reshape(batch, heads, landmarks, s, d).sum(3, false);
        // an empty segment divides its zero sum by 1
        Tensor divisor = count.add(count.eq(Tensor.zeros(count.backend()))).reshape(count.size(0), 1, landmarks, 1);
        return sums.div(divisor);
    }

    /**
     * The paper's iterative Moore–Penrose pseudo-inverse of a [B, H, m, m], {@code pinvIterations}
     * iterations from Z₀ = Aᵀ / (max row sum · max column sum); {@code allMasked} [B, 1, 1, 1] is
     * 1 for a batch element whose A is all zeros (its scale is then taken as 1, so Z = 0).
     */
    private Tensor pinv(Tensor a, Tensor allMasked) {
        Tensor abs = a.abs();
        Tensor maxRowSum = abs.sum(3, false).max(2, true).unsqueeze(3);     // [B, H, 1, 1]
        Tensor maxColumnSum = abs.sum(2, false).max(2, true).unsqueeze(3);  // [B, H, 1, 1]
        Tensor z = a.transpose(2, 3).div(maxRowSum.mul(maxColumnSum).add(allMasked));
        float[] eye = new float[landmarks * landmarks];
        for (int i = 0; i < landmarks; i++) {
            eye[i * landmarks + i] = 1f;
        }
        Tensor identity = Tensor.of(a.backend(), eye, landmarks, landmarks);
        for (int it = 0; it < pinvIterations; it++) {
            Tensor az = a.matmul(z);
            Tensor inner = identity.mul(7f).sub(az);
            Tensor middle = identity.mul(15f).sub(az.matmul(inner));
            Tensor outer = identity.mul(13f).sub(az.matmul(middle));
            z = z.matmul(outer).mul(0.25f);
        }
        return z;
    }

    @Override
    public double forwardFlops(Shape shape) {
        double m = landmarks;
        return 2 * shape.batchHeads() * (((double) shape.queryLength() + shape.keyLength() + m) * m
                * (shape.headDim() + shape.valueDim()) + 4 * m * m * m * pinvIterations);
    }

    @Override
    public String toString() {
        return "NystromAttention(landmarks=" + landmarks + ", pinvIterations=" + pinvIterations + ", convKernel="
                + convKernel + ")";
    }
}
