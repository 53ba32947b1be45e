package org.xformers4j.attention.local;

import java.util.Arrays;
import org.xformers4j.component.attention.AttentionContext.Grid;

/**
 * The shifted windows of Swin transcribed from torchvision's {@code shifted_window_attention}
 * (which follows the authors' {@code SwinTransformerBlock}), step by step on token ids, independently
 * of {@link SwinWindows}: pad the grid to multiples of M, no shift along an axis that M covers, roll
 * by (-s, -s), label the rolled grid with the authors' {@code h_slices} and {@code w_slices}
 * (Python slice semantics, -0 included), cut into M×M windows, and let two real tokens of a window
 * see each other when their labels agree, with the table entry of their offset in the window.
 * Tokens off the grid see, and are seen by, every token.
 */
final class ShiftedWindowsReference {

    /** Marks a pair of tokens that do not see each other. */
    static final int HIDDEN = -2;
    /** Marks a visible pair with a token off the grid (no table entry). */
    static final int GLOBAL = -1;

    private ShiftedWindowsReference() {
    }

    /**
     * [length][length]: for each query and key token, the relative-position table entry of a
     * visible window pair, {@link #GLOBAL} for a pair with a token off the grid, {@link #HIDDEN}
     * for a pair that does not see each other.
     */
    static int[][] pairs(Grid grid, int length, int window, boolean shifted) {
        int paddedRows = (grid.rows() + window - 1) / window * window;
        int paddedCols = (grid.cols() + window - 1) / window * window;
        int shiftRows = shifted && window < paddedRows ? window / 2 : 0;
        int shiftCols = shifted && window < paddedCols ? window / 2 : 0;
        int[][] token = new int[paddedRows][paddedCols];
        for (int[] row : token) {
            Arrays.fill(row, -1);
        }
        for (int r = 0; r < grid.rows(); r++) {
            for (int c = 0; c < grid.cols(); c++) {
                token[r][c] = grid.start() + r * grid.cols() + c;
            }
        }
        // x = torch.roll(x, shifts=(-shiftRows, -shiftCols), dims=(1, 2)): rolled[i] = x[(i + shift) mod size]
        int[][] rolled = new int[paddedRows][paddedCols];
        for (int r = 0; r < paddedRows; r++) {
            for (int c = 0; c < paddedCols; c++) {
                rolled[r][c] = token[(r + shiftRows) % paddedRows][(c + shiftCols) % paddedCols];
            }
        }
        int[][] label = new int[paddedRows][paddedCols];
        if (shiftRows + shiftCols > 0) {
            Integer[][] hSlices = {{0, -window}, {-window, -shiftRows}, {-shiftRows, null}};
            Integer[][] wSlices = {{0, -window}, {-window, -shiftCols}, {-shiftCols, null}};
            int count = 0;
            for (Integer[] h : hSlices) {
                for (Integer[] w : wSlices) {
                    for (int r = from(h, paddedRows); r < to(h, paddedRows); r++) {
                        for (int c = from(w, paddedCols); c < to(w, paddedCols); c++) {
                            label[r][c] = count;
                        }
                    }
                    count++;
                }
            }
        }
        int[][] pairs = new int[length][length];
        for (int[] row : pairs) {
            Arrays.fill(row, HIDDEN);
        }
        for (int wr = 0; wr < paddedRows; wr += window) {
            for (int wc = 0; wc < paddedCols; wc += window) {
                for (int u = 0; u < window * window; u++) {
                    for (int t = 0; t < window * window; t++) {
                        int ur = wr + u / window;
                        int uc = wc + u % window;
                        int tr = wr + t / window;
                        int tc = wc + t % window;
                        int query = rolled[ur][uc];
                        int key = rolled[tr][tc];
                        if (query >= 0 && key >= 0 && label[ur][uc] == label[tr][tc]) {
                            pairs[query][key] = (ur - tr + window - 1) * (2 * window - 1) + uc - tc + window - 1;
                        }
                    }
                }
            }
        }
        for (int p = 0; p < length; p++) {
            if (p < grid.start() || p >= grid.start() + grid.cells()) {
                Arrays.fill(pairs[p], GLOBAL);
                for (int[] row : pairs) {
                    row[p] = GLOBAL;
                }
            }
        }
        return pairs;
    }

    /** The start of Python's {@code slice(s[0], s[1])} over {@code size} elements. */
    private static int from(Integer[] slice, int size) {
        return index(slice[0], size);
    }

    /** The end (exclusive) of that slice, {@code size} for None. */
    private static int to(Integer[] slice, int size) {
        return slice[1] == null ? size : index(slice[1], size);
    }

    /** Python's reading of a slice bound: a negative one counts from the end (and -0 is 0). */
    private static int index(int bound, int size) {
        return bound < 0 ? Math.max(size + bound, 0) : Math.min(bound, size);
    }
}
