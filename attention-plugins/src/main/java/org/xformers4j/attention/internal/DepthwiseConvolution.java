package org.xformers4j.attention.internal;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * A depth-wise convolution of per-head sequences as one op with its own backward: every channel c
 * of every head h is convolved with its own kernel (w [H, C, E]) or with its head's one kernel
 * (w [H, 1, E], a convolution with {@code groups = heads} as Nyströmformer's skip on V), applied
 * through the {@link ConvolutionTaps} of a layout (along the sequence or over an image-patch grid,
 * E kernel entries), with zero padding and no bias. With w_hc the kernel of channel c of head h:
 * <pre>
 *   x [B, H, N, C], w [H, C or 1, E]
 *   out[b,h,n,c] = Σ_t w_hc[weight[t]] · x[b,h,source[t][n],c]        (taps with source ≥ 0)
 *   dx[b,h,s,c]   = Σ_{t,n: source[t][n] = s} w_hc[weight[t]] · g[b,h,n,c]
 *   dw_hc[e]      = Σ_{b, t: weight[t] = e} Σ_n x[b,h,source[t][n],c] · g[b,h,n,c]   (summed over c when shared)
 * </pre>
 * Time O(B·H·N·C·taps), no memory beyond the output and the gradients; heads run in parallel, the
 * kernel gradients accumulated in double precision.
 */
public final class DepthwiseConvolution extends CustomFunction {

    private final ConvolutionTaps taps;
    private Tensor[] inputs;

    /** One application of a convolution with the given layout. */
    public DepthwiseConvolution(ConvolutionTaps taps) {
        this.taps = taps;
    }

    @Override
    protected String name() {
        return "depthwiseConvolution";
    }

    /** in: x [B, H, N, C], w [H, C or 1, E]; out [B, H, N, C]. */
    @Override
    protected Tensor forward(Tensor... in) {
        Sizes n = new Sizes(in[0], in[1], taps);
        inputs = in;
        float[] x = in[0].toFloatArray();
        float[] w = in[1].toFloatArray();
        float[] out = new float[x.length];
        IntStream.range(0, n.batch * n.heads).parallel().forEach(bh -> {
            int h = bh % n.heads;
            for (int t = 0; t < taps.weight.length; t++) {
                int[] source = taps.source[t];
                for (int p = 0; p < n.length; p++) {
                    if (source[p] < 0) {
                        continue;
                    }
                    int o = (bh * n.length + p) * n.channels;
                    int s = (bh * n.length + source[p]) * n.channels;
                    for (int c = 0; c < n.channels; c++) {
                        out[o + c] += w[n.kernelOffset(h, c) + taps.weight[t]] * x[s + c];
                    }
                }
            }
        });
        return Tensor.of(in[0].backend(), out, in[0].shape());
    }

    @Override
    protected Tensor[] backward(Tensor gradOut) {
        Sizes n = new Sizes(inputs[0], inputs[1], taps);
        float[] x = inputs[0].toFloatArray();
        float[] w = inputs[1].toFloatArray();
        float[] g = gradOut.toFloatArray();
        float[] dx = new float[x.length];
        float[] dw = new float[w.length];
        int headEntries = n.kernels * taps.entries;
        IntStream.range(0, n.heads).parallel().forEach(h -> {
            double[] sums = new double[headEntries];
            for (int b = 0; b < n.batch; b++) {
                int bh = b * n.heads + h;
                for (int t = 0; t < taps.weight.length; t++) {
                    int[] source = taps.source[t];
                    for (int p = 0; p < n.length; p++) {
                        if (source[p] < 0) {
                            continue;
                        }
                        int o = (bh * n.length + p) * n.channels;
                        int s = (bh * n.length + source[p]) * n.channels;
                        for (int c = 0; c < n.channels; c++) {
                            int e = n.kernelOffset(h, c) + taps.weight[t];
                            dx[s + c] += w[e] * g[o + c];
                            sums[e - h * headEntries] += (double) x[s + c] * g[o + c];
                        }
                    }
                }
            }
            for (int e = 0; e < headEntries; e++) {
                dw[h * headEntries + e] = (float) sums[e];
            }
        });
        var backend = inputs[0].backend();
        return new Tensor[] {Tensor.of(backend, dx, inputs[0].shape()), Tensor.of(backend, dw, inputs[1].shape())};
    }

    /** The sizes of one application, checked against the taps' layout; kernels is C or 1. */
    private record Sizes(int batch, int heads, int length, int channels, int kernels, int entries) {
        Sizes(Tensor x, Tensor w, ConvolutionTaps taps) {
            this(x.size(0), x.size(1), x.size(2), x.size(3), w.dim() == 3 ? w.size(1) : -1, taps.entries);
            if (x.dim() != 4 || w.dim() != 3 || w.size(0) != heads || (kernels != channels && kernels != 1)
                    || w.size(2) != entries || length != taps.length) {
                throw new IllegalArgumentException("depthwiseConvolution: x " + Arrays.toString(x.shape())
                        + " and kernels " + Arrays.toString(w.shape()) + " must be [B, H, N = " + taps.length
                        + ", C] and [H, C or 1, " + entries + "]");
            }
        }

        /** Where the kernel of channel c of head h starts in w. */
        int kernelOffset(int h, int c) {
            return (h * kernels + (kernels == 1 ? 0 : c)) * entries;
        }
    }
}
