package org.xformers4j.attention.mixing;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.attention.internal.ConvolutionTaps;
import org.xformers4j.attention.internal.DepthwiseConvolution;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.nn.Init;
import org.xformers4j.tensor.Tensor;

/**
 * Convolutional modulation of Conv2Former (Hou et al., 2022, "Conv2Former: A Simple
 * Transformer-Style ConvNet for Visual Recognition", §3.2 and the authors' {@code ConvMod}): the
 * attention weights are replaced by a large-kernel depth-wise convolution, which modulates the
 * value projection elementwise (a Hadamard product). Per batch element and head, with taps t of
 * offset o_t around token n and the token's own tap s:
 * <pre>
 *   a_n = w_s ⊙ GELU(q_n) + Σ_{t ≠ s} w_t ⊙ GELU(k_{n + o_t}) + b     K taps along the sequence, K×K over a grid
 *   out_n = (a_n R) ⊙ v_n                                            R: the identity when Dv = d (see below)
 * </pre>
 * with q, k [B, H, N, d], v [B, H, N, Dv], out [B, H, N, Dv], a kernel w and a bias b per channel
 * of each head. Time O(N·d·K) along a sequence, O(N·d·K²) over a grid, extra memory O(N·d): each
 * token mixes only with the K (or K×K) around it. It is not softmax attention and does not
 * approximate it; there are no token-to-token weights to report ({@code WeightedAttention} is not
 * implemented).
 *
 * <p><b>Where the authors' projections go.</b> Their {@code a} branch is a 1×1 convolution, GELU
 * and a depth-wise K×K convolution (K = 11 in every Conv2Former) of one projection of the tokens;
 * their {@code v} is the layer's value projection and their {@code proj} the layer's output
 * projection. Here the convolution reads a token's own position through its query and its
 * neighbours through their keys, as a token asks with its query and the others answer with their
 * keys in attention: with query and key projections equal (which the layer may learn) it is the
 * authors' convolution of one projection, and every projection of the layer is used. Kernels and
 * biases are drawn from U(-1/sqrt(fan-in), 1/sqrt(fan-in)) as PyTorch's {@code Conv2d}. Values of
 * another size than the head ({@code Dv ≠ d}, which the interface allows; a multi-head layer
 * passes Dv = d) are modulated by the convolved channels in g = gcd(d, Dv) groups: R [d, Dv] is 1
 * where channel i of a and channel j of v are in the same group ({@code i·g/d = j·g/Dv}), 0
 * elsewhere, so each value channel is multiplied by the sum of its group's convolved channels.
 *
 * <p><b>Where the convolution runs.</b> ({@link #dimensionality}) With {@code AUTO} (the default)
 * and an image-patch grid in the context ({@link AttentionContext#grid()}), over the grid with the
 * whole K×K kernel and zero padding at the image's borders, as the authors' {@code Conv2d}; a
 * token off the grid (CLS, register tokens) reads only its own position. Without a grid, or with
 * {@code SEQUENCE}, along the sequence with K taps: centred ('same' zero padding), or left-padded
 * with a causal context (output n reads positions n-K+1..n only; its own tap is then the last).
 * With {@code AUTO} the kernels are K×K, of which a sequence uses the middle row (the others then
 * get zero gradients), so one checkpoint serves images and sequences; with {@code SEQUENCE} they
 * are K taps. The taps come from {@link ConvolutionTaps} and the convolution is
 * {@link DepthwiseConvolution}, the op of {@code relu-linear}.
 *
 * <p><b>Choices the paper leaves open, or that this interface forces.</b>
 * <ul>
 *   <li>A token off the grid (a CLS token) reads only itself, so nothing of the image ever
 *       reaches it through this mixer: an image classifier built on it pools the patches' outputs
 *       ({@code pooling = MEAN} of the encoder), as Conv2Former pools globally, rather than reading
 *       a CLS token (whose prediction would not depend on the image).</li>
 *   <li>Padding: the padded tokens' keys are set to zero before the convolution and their values
 *       are zero, so a real token next to padding reads zeros there, as at the end of the
 *       sequence, padded tokens have no influence, and their output rows are zero.</li>
 *   <li>Causal use is supported along a sequence (left-padded convolution), refused with a grid
 *       (the K×K kernel reads the cells below and to the right). Incremental decoding with a
 *       key/value cache is supported: with a causal context the queries may be the last Lq of
 *       the N positions (the new tokens), and only the last Lq + K - 1 keys are read, so a step
 *       costs O(Lq·K·d) however long the cache. Cross-attention, and fewer queries than keys
 *       without a causal context, are refused: the convolution mixes the tokens of one sequence. An
 *       additive bias and attention dropout are refused: there are no scores and no attention
 *       weights.</li>
 * </ul>
 *
 * <p>FLOPs, the products along a sequence (over a grid each K becomes K²): the convolution (K
 * multiply-adds per element of q and k together) and, when Dv ≠ d, the group map R (d·Dv per
 * token): forward {@code 2·B·H·N·(K·d + (Dv ≠ d ? d·Dv : 0))}, backward twice that; GELU and the
 * elementwise modulation are not counted.
 */
@ComponentInfo(name = "conv-modulation",
        summary = "Conv2Former convolutional modulation: a large-kernel depth-wise convolution (a token's query, its "
                + "neighbours' keys; 1-D, causal, or 2-D over an image-patch grid) times the values; linear in N",
        reference = "Hou et al., 2022, Conv2Former: A Simple Transformer-Style ConvNet for Visual Recognition")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = true, exact = false, grid = true, time = "O(N*d*K)", memory = "O(N*d)",
        linearMemory = true)
public final class ConvolutionalModulation extends MixingMechanism {

    private static final String NAME = "conv-modulation";

    /** Where the convolution runs. */
    public enum Dimensionality {
        /** Over the context's image-patch grid when it has one (K×K), else along the sequence (K). */
        AUTO,
        /** Along the sequence (K taps), with or without a grid. */
        SEQUENCE
    }

    @Config(description = "Kernel size K of the depth-wise convolution, odd: K taps along a sequence, KxK over an "
            + "image-patch grid (Conv2Former uses 11).")
    @Range(min = 1, max = 63)
    private int kernelSize = 11;

    @Config(description = "Where the convolution runs: AUTO (over the context's image-patch grid when it has one, "
            + "else along the sequence) or SEQUENCE (always along the sequence).")
    private Dimensionality dimensionality = Dimensionality.AUTO;

    /** [H, d, K, K] with AUTO, [H, d, K] with SEQUENCE: the depth-wise kernels. */
    private Tensor kernel;
    /** [H, d]: the convolution's bias. */
    private Tensor bias;
    /** [d, Dv]: the group map R, null when Dv = d. */
    private Tensor widthMap;

    /** For OLCUT. */
    private ConvolutionalModulation() {
        super(NAME);
    }

    /** Convolutional modulation with an odd {@code kernelSize} running where {@code dimensionality} says. */
    public ConvolutionalModulation(int kernelSize, Dimensionality dimensionality) {
        super(NAME);
        this.kernelSize = kernelSize;
        this.dimensionality = dimensionality;
        postConfig();
    }

    @Override
    public void postConfig() {
        super.postConfig();
        if (kernelSize % 2 == 0) {
            throw new PropertyException(NAME, "kernelSize", NAME + ".kernelSize = " + kernelSize
                    + " must be odd (the convolution is centred on its token)");
        }
    }

    public int kernelSize() {
        return kernelSize;
    }

    public Dimensionality dimensionality() {
        return dimensionality;
    }

    @Override
    void createParameters(RandomGenerator rng) {
        boolean square = dimensionality == Dimensionality.AUTO;
        float bound = (float) (1 / Math.sqrt(square ? kernelSize * kernelSize : kernelSize));
        kernel = registerParameter("kernel", square ? Init.uniform(rng, -bound, bound, heads, headDim, kernelSize,
                kernelSize) : Init.uniform(rng, -bound, bound, heads, headDim, kernelSize));
        bias = registerParameter("bias", Init.uniform(rng, -bound, bound, heads, headDim), false);
        widthMap = valueDim == headDim ? null : groupMap(headDim, valueDim);
    }

    /** R [d, Dv]: 1 where channel i of d and channel j of Dv are in the same of gcd(d, Dv) groups. */
    static Tensor groupMap(int d, int dv) {
        int groups = gcd(d, dv);
        float[] map = new float[d * dv];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < dv; j++) {
                map[i * dv + j] = i * groups / d == j * groups / dv ? 1f : 0f;
            }
        }
        return Tensor.of(map, d, dv);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /**
     * q [B, H, N, d], k [B, H, N, d], v [B, H, N, Dv] → [B, H, N, Dv]; with a causal context also
     * q [B, H, Lq, d] for the last Lq of the N positions (after a key cache) → [B, H, Lq, Dv].
     */
    @Override
    public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        check(query, key, value, context, null, true);
        Grid grid = dimensionality == Dimensionality.AUTO ? context.grid() : null;
        if (grid != null && context.causal()) {
            throw new IllegalArgumentException(NAME + ": a causal context with an image grid (" + grid + ") is not "
                    + "supported: the 2-D convolution reads the cells below and to the right (set dimensionality to "
                    + "SEQUENCE to convolve along the sequence)");
        }
        int queries = query.size(2);
        int window = queries == key.size(2) ? queries : Math.min(key.size(2), queries + kernelSize - 1);
        if (grid != null && grid.start() + grid.cells() > window) {
            throw new IllegalArgumentException(NAME + ": the grid " + grid + " does not fit in a sequence of "
                    + window + " positions");
        }
        Tensor padding = padding(context);
        if (padding != null) {
            padding = last(padding, window);
        }
        Tensor keys = last(key, window);
        ConvolutionTaps taps = grid == null ? ConvolutionTaps.sequence(kernelSize, window, context.causal())
                : ConvolutionTaps.grid(kernelSize, window, grid);
        Tensor weights = kernelFor(grid);
        int own = grid != null || !context.causal() ? weights.size(2) / 2 : weights.size(2) - 1;
        Tensor neighbours = new DepthwiseConvolution(taps).apply(zeroPadded(keys.gelu(), padding),
                withoutEntry(weights, own));
        Tensor ownWeights = weights.narrow(2, own, 1).reshape(1, heads, 1, headDim);
        Tensor modulation = last(neighbours, queries).add(query.gelu().mul(ownWeights))
                .add(bias.reshape(1, heads, 1, headDim));
        if (widthMap != null) {
            modulation = modulation.matmul(widthMap);
        }
        return zeroPadded(modulation.mul(last(value, queries)), padding == null ? null : last(padding, queries));
    }

    /** The last {@code count} positions of x [·, ·, N, ·] (x itself when that is all of them). */
    private static Tensor last(Tensor x, int count) {
        return count == x.size(2) ? x : x.narrow(2, x.size(2) - count, count);
    }

    /** The kernels [H, d, E] of the layout: K×K over a grid, K along a sequence (the middle row of K×K ones). */
    private Tensor kernelFor(Grid grid) {
        if (grid != null) {
            return kernel.reshape(heads, headDim, kernelSize * kernelSize);
        }
        return dimensionality == Dimensionality.AUTO
                ? kernel.narrow(2, kernelSize / 2, 1).reshape(heads, headDim, kernelSize) : kernel;
    }

    /** {@code weights} [H, d, E] with entry {@code entry} of every kernel set to 0 (the token's own tap). */
    private static Tensor withoutEntry(Tensor weights, int entry) {
        float[] others = new float[weights.size(2)];
        Arrays.fill(others, 1f);
        others[entry] = 0f;
        return weights.mul(Tensor.of(others, 1, 1, others.length));
    }

    @Override
    public double forwardFlops(Shape shape) {
        double d = shape.headDim();
        double dv = shape.valueDim();
        return 2 * shape.batchHeads() * shape.queryLength() * (kernelSize * d + (dv == d ? 0 : d * dv));
    }

    @Override
    public String toString() {
        return "ConvolutionalModulation(kernelSize=" + kernelSize + ", dimensionality=" + dimensionality + ")";
    }
}
