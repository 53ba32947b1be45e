package org.xformers4j.attention.internal;

import org.xformers4j.component.attention.AttentionContext.Grid;

/**
 * The layout of a {@link DepthwiseConvolution} with a kernel of width K (K odd): for each tap t,
 * the kernel entry {@code weight[t]} it multiplies by and, for each output position n, the input
 * position {@code source[t][n]}, or -1 where the convolution reads zero padding. The layouts:
 * <ul>
 *   <li>{@link #sequence}: along the sequence with a kernel of K entries, one tap each: centred
 *       ({@code 'same'} zero padding, output n reads n - (K-1)/2 .. n + (K-1)/2) or causal (left
 *       padding, output n reads n - K + 1 .. n, never a later position);</li>
 *   <li>{@link #grid}: over a {@link Grid} of image patches with a K×K kernel (K² entries,
 *       row-major), K² taps centred on the cell ('same' zero padding at the image's borders); a
 *       position off the grid (a CLS or register token) is an image of one cell: it reads only
 *       itself, through the centre tap.</li>
 * </ul>
 */
public final class ConvolutionTaps {

    final int kernel;
    final int length;
    /** The number of kernel entries the taps index: K along a sequence, K² over a grid. */
    final int entries;
    /** [taps]: the kernel entry each tap multiplies by. */
    final int[] weight;
    /** [taps][length]: the input position each output position reads through the tap, -1 for padding. */
    final int[][] source;

    private ConvolutionTaps(int kernel, int length, int entries, int[] weight, int[][] source) {
        this.kernel = kernel;
        this.length = length;
        this.entries = entries;
        this.weight = weight;
        this.source = source;
    }

    /** Along a sequence of {@code length} positions with a kernel of {@code kernel} entries, centred or causal. */
    public static ConvolutionTaps sequence(int kernel, int length, boolean causal) {
        int[] weight = new int[kernel];
        int[][] source = new int[kernel][length];
        for (int t = 0; t < kernel; t++) {
            weight[t] = t;
            int offset = causal ? t - (kernel - 1) : t - kernel / 2;
            for (int n = 0; n < length; n++) {
                int s = n + offset;
                source[t][n] = s >= 0 && s < length ? s : -1;
            }
        }
        return new ConvolutionTaps(kernel, length, kernel, weight, source);
    }

    /**
     * Over {@code grid} within a sequence of {@code length} positions, with the whole K×K kernel.
     *
     * @throws IllegalArgumentException when the grid does not fit in the sequence
     */
    public static ConvolutionTaps grid(int kernel, int length, Grid grid) {
        if (grid.start() + grid.cells() > length) {
            throw new IllegalArgumentException("the grid " + grid + " does not fit in a sequence of " + length
                    + " positions");
        }
        int taps = kernel * kernel;
        int[] weight = new int[taps];
        int[][] source = new int[taps][length];
        int centre = kernel / 2;
        for (int dr = 0; dr < kernel; dr++) {
            for (int dc = 0; dc < kernel; dc++) {
                int t = dr * kernel + dc;
                weight[t] = t;
                for (int n = 0; n < length; n++) {
                    int cell = n - grid.start();
                    if (cell < 0 || cell >= grid.cells()) {
                        source[t][n] = dr == centre && dc == centre ? n : -1;
                        continue;
                    }
                    int r = cell / grid.cols() + dr - centre;
                    int c = cell % grid.cols() + dc - centre;
                    boolean inside = r >= 0 && r < grid.rows() && c >= 0 && c < grid.cols();
                    source[t][n] = inside ? grid.start() + r * grid.cols() + c : -1;
                }
            }
        }
        return new ConvolutionTaps(kernel, length, taps, weight, source);
    }
}
