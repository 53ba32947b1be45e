package org.xformers4j.attention.kernel;

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
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * Multi-scale ReLU linear attention, the attention of EfficientViT (Cai et al., 2023,
 * "EfficientViT: Lightweight Multi-Scale Attention for High-Resolution Dense Prediction"; the
 * authors' {@code LiteMLA}). ReLU linear attention,
 * <pre>
 *   out_i = Σ_j relu(q_i)·relu(k_j) v_j / (Σ_j relu(q_i)·relu(k_j) + eps)        (the paper's eq. 2)
 *        = relu(q_i) (relu(K)ᵀ V) / (relu(q_i) · Σ_j relu(k_j) + eps)
 * </pre>
 * runs on the queries, keys and values as given and on S more scales of them: for each kernel
 * size K of {@code kernelSizes} (default 3 and 5), the authors' multi-scale token aggregation,
 * a depth-wise K×K convolution of each channel followed by a 1×1 convolution mixing the channels
 * within each head, separately for Q, K and V:
 * <pre>
 *   X_K = pointwise_K(depthwise_K(X))      X = Q, K [B, H, N, d], V [B, H, N, Dv]
 *                                          depthwise_K: [H, d, K, K] (V: [H, Dv, K, K])
 *                                          pointwise_K: [H, d, d] (V: [H, Dv, Dv]; the authors' groups = 3·heads)
 *   O_0 = attention(Q, K, V),  O_K = attention(Q_K, K_K, V_K)                    [B, H, N, Dv]
 *   out = Σ_s a[h, s] · O_s                                                     (S + 1 branches)
 * </pre>
 * Non-causal products as {@link LinearAttention} does ({@code relu(K)ᵀ V} first), causal ones
 * with the fused prefix-sum op {@link CausalLinearProduct}: time O(N·d·(d + K²)) per branch and
 * head, extra memory O(N·d + d²), no N×N and no N×d×d tensor.
 *
 * <p><b>Where the convolutions run.</b> With an image-patch grid in the context
 * ({@link AttentionContext#grid()}, set by a model whose input encoder makes patches), the
 * convolutions are 2-D over the grid with the whole K×K kernel and zero padding at the image's
 * borders, as the paper's Conv2d; a token off the grid (CLS, register tokens) is an image of one
 * cell and convolves only with itself. Without a grid they run along the sequence with the
 * kernel's middle row (K taps): centred ({@code 'same'} zero padding) without a causal context,
 * left-padded with one (output n reads positions n-K+1..n only, so nothing leaks from the future).
 * The kernels are K×K in both cases so that one configuration, and one checkpoint layout, serves
 * both; along a sequence the other rows are unused: they get zero gradients (weight decay still
 * shrinks them). A grid with a causal context is refused.
 *
 * <p><b>Choices the paper and the authors' code leave open, or that this SPI forces.</b>
 * <ul>
 *   <li><b>Aggregation.</b> LiteMLA concatenates the outputs of all scales as extra heads and
 *       lets its output projection mix them. Here the mechanism must return one [B, H, N, Dv]
 *       output for the layer's own projection, so each head combines its branches with learned
 *       weights a [H, S+1] (a parameter without weight decay), initialised to 1/(S+1): the mean.
 *       The layer's projection W then sees Σ_s a_s W O_s, the authors' per-scale projections
 *       W_s restricted to multiples a_s W of one.</li>
 *   <li><b>Initialisation.</b> As PyTorch's Conv2d, which the authors use: depth-wise kernels
 *       from U(-1/K, 1/K) (1/sqrt(fan-in K²)), point-wise ones from U(-1/sqrt(d), 1/sqrt(d)); no
 *       biases (the authors' default {@code use_bias=False}).</li>
 *   <li><b>Padding.</b> Padded positions' queries, keys and values are set to zero before the
 *       convolutions, and the padded keys' features of every branch are zeroed after them. So a
 *       real position next to padding reads zeros there, exactly as at the end of the sequence
 *       (or the edge of the image): a right-padded sequence computes what it would alone, and
 *       padded tokens have no influence at all. The mask is the sequence's own (queries and keys
 *       are one sequence here).</li>
 *   <li>Queries and keys must be the same sequence (the convolutions mix neighbouring tokens of
 *       one sequence): cross-attention and fewer queries than keys (a key cache) are refused, so
 *       incremental decoding is not declared. An additive bias and attention dropout are refused
 *       (no scores or weights are formed).</li>
 *   <li>{@code eps} (default 1e-15, the authors' value) is added to every denominator: ReLU
 *       features make a denominator arbitrarily small while the output does not depend on the
 *       scale of relu(q), so eps should act only on a denominator that is exactly 0; that query
 *       outputs zeros.</li>
 * </ul>
 */
@ComponentInfo(name = "relu-linear",
        summary = "EfficientViT multi-scale ReLU linear attention: depth-wise convolutions of Q, K, V "
                + "(1-D, or 2-D over an image-patch grid) as extra scales, linear in the length",
        reference = "Cai et al., 2023, EfficientViT: Lightweight Multi-Scale Attention for High-Resolution "
                + "Dense Prediction")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, grid = true, time = "O(N*d^2)", memory = "O(N*d + d^2)",
        linearMemory = true)
public final class ReluLinearAttention extends Module implements AttentionMechanism, FlopCount {

    private static final String NAME = "relu-linear";
    /** The streams each scale convolves, in this order; the parameter names start with them. */
    private static final String[] STREAMS = {"query", "key", "value"};

    @Config(description = "Kernel sizes K of the extra scales, odd from 1 to 15, comma-separated: each adds a "
            + "depth-wise KxK convolution of Q, K and V (along the sequence, its middle row).")
    private String kernelSizes = "3,5";

    @Config(description = "Added to every denominator, so that a query with no positive feature, or whose keys "
            + "are all padded, outputs zeros.")
    @Range(min = 0, minInclusive = false, max = 1)
    private float eps = 1e-15f;

    private int[] kernels;
    private int heads = -1;
    private int headDim = -1;
    private int valueDim = -1;
    /** [scale][stream]: the depth-wise kernels [H, C, K, K] of Q, K and V. */
    private Tensor[][] depthwise;
    /** [scale][stream]: the point-wise channel mixes [H, C, C] of Q, K and V. */
    private Tensor[][] pointwise;
    /** [H, S + 1]: each head's weights of its branches, the unconvolved one first. */
    private Tensor branchWeights;

    /** For OLCUT. */
    private ReluLinearAttention() {
    }

    /** Multi-scale ReLU linear attention with extra scales of the given odd kernel sizes. */
    public ReluLinearAttention(int[] kernelSizes, float eps) {
        this.kernelSizes = String.join(",", Arrays.stream(kernelSizes).mapToObj(String::valueOf).toList());
        this.eps = eps;
        postConfig();
    }

    @Override
    public void postConfig() {
        AttentionMechanism.super.postConfig();
        String[] parts = kernelSizes == null ? new String[0] : kernelSizes.trim().split("\\s*,\\s*");
        int[] parsed = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                parsed[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                parsed[i] = 0;
            }
            if (parsed[i] < 1 || parsed[i] % 2 == 0 || parsed[i] > 15) {
                throw new PropertyException(NAME, "kernelSizes", NAME + ".kernelSizes = " + kernelSizes
                        + ": each size must be an odd integer from 1 to 15, got '" + parts[i] + "'");
            }
        }
        if (parsed.length == 0 || Arrays.stream(parsed).distinct().count() != parsed.length) {
            throw new PropertyException(NAME, "kernelSizes", NAME + ".kernelSizes = " + kernelSizes
                    + " must list at least one size, each once");
        }
        kernels = parsed;
    }

    /** The kernel sizes of the extra scales, in order. */
    public int[] kernelSizes() {
        return kernels.clone();
    }

    public float eps() {
        return eps;
    }

    /** {@link #initialize(int, int, int, RandomGenerator)} with values of headDim elements, as a multi-head layer has. */
    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        initialize(heads, headDim, headDim, rng);
    }

    /**
     * Creates the kernels and branch weights for {@code heads} heads of size {@code headDim} and
     * values of size {@code valueDim}; a second call with the same sizes does nothing.
     */
    @Override
    public void initialize(int heads, int headDim, int valueDim, RandomGenerator rng) {
        if (AttentionInputs.initialisedFor(NAME, this.heads, this.headDim, this.valueDim, heads, headDim, valueDim)) {
            return;
        }
        this.heads = heads;
        this.headDim = headDim;
        this.valueDim = valueDim;
        depthwise = new Tensor[kernels.length][STREAMS.length];
        pointwise = new Tensor[kernels.length][STREAMS.length];
        for (int s = 0; s < kernels.length; s++) {
            int k = kernels[s];
            for (int i = 0; i < STREAMS.length; i++) {
                int channels = i == 2 ? valueDim : headDim;
                float mix = (float) (1 / Math.sqrt(channels));
                depthwise[s][i] = registerParameter(STREAMS[i] + "Depthwise" + k,
                        Init.uniform(rng, -1f / k, 1f / k, heads, channels, k, k));
                pointwise[s][i] = registerParameter(STREAMS[i] + "Pointwise" + k,
                        Init.uniform(rng, -mix, mix, heads, channels, channels));
            }
        }
        branchWeights = registerParameter("branchWeights", Tensor.full(1f / (kernels.length + 1), heads,
                kernels.length + 1), false);
    }

    /** q [B, H, N, d], k [B, H, N, d], v [B, H, N, Dv] → [B, H, N, Dv]. */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        KernelChecks.check(NAME, query, key, value, context, null);
        int batch = query.size(0);
        int length = key.size(2);
        if (query.size(2) != length) {
            throw new IllegalArgumentException(NAME + ": queries and keys must be one sequence (the convolutions mix "
                    + "neighbouring tokens of one sequence; no cross-attention, no key cache), got query "
                    + KernelChecks.shape(query) + " and key " + KernelChecks.shape(key));
        }
        if (branchWeights == null) {
            throw new IllegalStateException(NAME + ": not initialised (a multi-head layer calls initialize)");
        }
        if (query.size(1) != heads || query.size(3) != headDim || value.size(3) != valueDim) {
            throw new IllegalArgumentException(NAME + ": initialised for " + heads + " heads of size " + headDim
                    + " and values of size " + valueDim + ", got query " + KernelChecks.shape(query) + " and value "
                    + KernelChecks.shape(value));
        }
        Grid grid = context.grid();
        if (grid != null && context.causal()) {
            throw new IllegalArgumentException(NAME + ": a causal context with an image grid (" + grid + ") is not "
                    + "supported: the 2-D convolutions read the cells below and to the right");
        }
        Tensor mask = context.keyPaddingMask();
        Tensor padded = mask == null ? null : mask.reshape(batch, 1, length, 1);
        Tensor[] qkv = {query, key, value};
        if (padded != null) {
            for (int i = 0; i < STREAMS.length; i++) {
                qkv[i] = qkv[i].maskedFill(padded, 0f);
            }
        }
        Tensor out = attend(qkv, padded, context.causal()).mul(branch(0));
        for (int s = 0; s < kernels.length; s++) {
            int k = kernels[s];
            ConvolutionTaps taps = grid == null ? ConvolutionTaps.sequence(k, length, context.causal())
                    : ConvolutionTaps.grid(k, length, grid);
            Tensor[] scaled = new Tensor[STREAMS.length];
            for (int i = 0; i < STREAMS.length; i++) {
                int channels = qkv[i].size(3);
                Tensor kernel = grid == null ? depthwise[s][i].narrow(2, k / 2, 1).reshape(heads, channels, k)
                        : depthwise[s][i].reshape(heads, channels, k * k);
                Tensor convolved = new DepthwiseConvolution(taps).apply(qkv[i], kernel);
                scaled[i] = convolved.matmul(pointwise[s][i]);           // [B, H, N, C] × [H, C, C]
            }
            out = out.add(attend(scaled, padded, context.causal()).mul(branch(s + 1)));
        }
        return out;
    }

    /** Head h's weight of branch {@code s}, as [1, H, 1, 1]. */
    private Tensor branch(int s) {
        return branchWeights.narrow(1, s, 1).reshape(1, heads, 1, 1);
    }

    /** ReLU linear attention of q, k, v [B, H, N, ·], padded keys' features zeroed. */
    private Tensor attend(Tensor[] qkv, Tensor padded, boolean causal) {
        Tensor fq = qkv[0].relu();
        Tensor fk = qkv[1].relu();
        if (padded != null) {
            fk = fk.maskedFill(padded, 0f);
        }
        return causal ? new CausalLinearProduct(eps).apply(fq, fk, qkv[2])
                : LinearAttention.nonCausal(fq, fk, qkv[2], eps);
    }

    /**
     * Along a sequence (the layout without a grid; over a grid each depth-wise tap count K becomes
     * K²): per batch element and head, each scale K convolves Q, K and V depth-wise (K taps per
     * element) and mixes their channels ((Lq + Lk)·d² + Lk·Dv²), every one of the S + 1 branches
     * runs the linear-attention product ({@link KernelFlops}, d features), and the branches are
     * combined (S + 1 multiply-adds per output element):
     * {@code Σ_K 2·B·H·[K·((Lq + Lk)·d + Lk·Dv) + (Lq + Lk)·d² + Lk·Dv²] + (S + 1)·product + 2·B·H·Lq·Dv·(S + 1)}.
     * Backward: twice the convolutions and the combination, and the product's own backward.
     */
    @Override
    public double forwardFlops(Shape shape) {
        return convolutionFlops(shape) + branches() * KernelFlops.forward(shape, shape.headDim())
                + combinationFlops(shape);
    }

    @Override
    public double backwardFlops(Shape shape) {
        return 2 * (convolutionFlops(shape) + combinationFlops(shape))
                + branches() * KernelFlops.backward(shape, shape.headDim());
    }

    private int branches() {
        return kernels.length + 1;
    }

    private double convolutionFlops(Shape shape) {
        double d = shape.headDim();
        double dv = shape.valueDim();
        double elements = ((double) shape.queryLength() + shape.keyLength()) * d + shape.keyLength() * dv;
        double mixing = ((double) shape.queryLength() + shape.keyLength()) * d * d + shape.keyLength() * dv * dv;
        double total = 0;
        for (int k : kernels) {
            total += k * elements + mixing;
        }
        return 2 * shape.batchHeads() * total;
    }

    private double combinationFlops(Shape shape) {
        return 2 * shape.batchHeads() * shape.queryLength() * shape.valueDim() * branches();
    }

    @Override
    public String toString() {
        return "ReluLinearAttention(kernelSizes=" + kernelSizes + ", eps=" + eps + ")";
    }
}
