package org.xformers4j.attention.local;

import java.util.Arrays;
import org.xformers4j.component.attention.AttentionContext.Grid;

/**
 * The window partition of {@link SwinAttention} over an image-patch grid inside a sequence: which
 * token sits in each slot of each window, which slots of a window may see each other, and the
 * tokens off the grid. Pure index arithmetic; the attention itself is {@link SwinAttention}'s.
 *
 * <p><b>Windows.</b> Each axis of the {@code rows × cols} grid is cut into windows of
 * {@code M} cells, padded at its end to a multiple of M when M does not divide it (as torchvision's
 * {@code shifted_window_attention} pads); an axis not longer than M is one window of its own
 * length and is not padded. The windows are numbered row-major, and the {@code cells()} slots of a
 * window row-major within it. A padded slot holds no token.
 *
 * <p><b>Shifted windows</b> (Liu et al., 2021, §3.2, Fig. 2 and 4). The padded grid of
 * {@code Hp × Wp} cells is rolled by {@code s = ⌊M/2⌋} cells up and left, cyclically (the
 * authors' {@code torch.roll(x, shifts=(-s, -s))}), and then cut into windows: slot (r', c') of the
 * rolled grid holds cell {@code ((r' + s) mod Hp, (c' + s) mod Wp)}. An axis not longer than M is not
 * shifted (as torchvision). The windows along the last band of each rolled axis join cells from
 * opposite edges of the image; the authors' mask keeps them apart by labelling the rolled
 * coordinates of each axis with three regions, {@code [0, Hp−M)}, {@code [Hp−M, Hp−s)} and
 * {@code [Hp−s, Hp)} (their {@code h_slices}, {@code w_slices}), and two slots see each other only
 * when both their labels agree. Within a region the offset of two slots equals the offset of their
 * cells in the image, so the relative position of a visible pair is its offset in the window.
 *
 * <p><b>Tokens off the grid</b> (positions before {@link Grid#start()}, a CLS or register token,
 * and after the grid) are global: each is a key of every window, and its query sees every key.
 */
final class SwinWindows {

    private final Grid grid;
    private final int length;
    private final int window;
    private final int windowRows;
    private final int windowCols;
    private final int shiftRows;
    private final int shiftCols;
    private final int paddedRows;
    private final int paddedCols;
    private final int windowsAcross;
    private final int windows;
    /** [windows · cells]: the token position of each slot, -1 for padding. */
    private final int[] slotPosition;
    /** [windows · cells]: the region label of each slot (all 0 without a shift). */
    private final int[] slotRegion;
    /** The positions off the grid, ascending. */
    private final int[] offGrid;
    private final int[] queryIndex;
    private final int[] keyIndex;

    /**
     * @param grid    the grid, within the {@code length} tokens
     * @param length  the number of tokens
     * @param window  M, the cells per window side
     * @param shifted whether the windows are shifted by ⌊M/2⌋
     * @throws IllegalArgumentException when the grid does not fit in the sequence
     */
    SwinWindows(Grid grid, int length, int window, boolean shifted) {
        if (grid.start() + grid.cells() > length) {
            throw new IllegalArgumentException("the grid " + grid + " does not fit in a sequence of " + length
                    + " tokens");
        }
        this.grid = grid;
        this.length = length;
        this.window = window;
        this.windowRows = Math.min(window, grid.rows());
        this.windowCols = Math.min(window, grid.cols());
        this.shiftRows = shifted && grid.rows() > window ? window / 2 : 0;
        this.shiftCols = shifted && grid.cols() > window ? window / 2 : 0;
        this.paddedRows = roundUp(grid.rows(), windowRows);
        this.paddedCols = roundUp(grid.cols(), windowCols);
        this.windowsAcross = paddedCols / windowCols;
        this.windows = paddedRows / windowRows * windowsAcross;
        int cells = cells();
        this.slotPosition = new int[windows * cells];
        this.slotRegion = new int[windows * cells];
        for (int w = 0; w < windows; w++) {
            for (int u = 0; u < cells; u++) {
                int rolledRow = w / windowsAcross * windowRows + u / windowCols;
                int rolledCol = w % windowsAcross * windowCols + u % windowCols;
                int row = (rolledRow + shiftRows) % paddedRows;
                int col = (rolledCol + shiftCols) % paddedCols;
                boolean inside = row < grid.rows() && col < grid.cols();
                slotPosition[w * cells + u] = inside ? grid.start() + row * grid.cols() + col : -1;
                slotRegion[w * cells + u] = region(rolledRow, paddedRows, windowRows, shiftRows) * 3
                        + region(rolledCol, paddedCols, windowCols, shiftCols);
            }
        }
        this.offGrid = new int[length - grid.cells()];
        for (int p = 0, g = 0; p < length; p++) {
            if (p < grid.start() || p >= grid.start() + grid.cells()) {
                offGrid[g++] = p;
            }
        }
        this.queryIndex = gatherQueries();
        this.keyIndex = gatherKeys();
    }

    private static int roundUp(int size, int multiple) {
        return (size + multiple - 1) / multiple * multiple;
    }

    /** The authors' label of rolled coordinate x on an axis of {@code size} cells: 0, 1 or 2 (0 without a shift). */
    private static int region(int x, int size, int window, int shift) {
        if (shift == 0 || x < size - window) {
            return 0;
        }
        return x < size - shift ? 1 : 2;
    }

    /** The number of windows. */
    int windows() {
        return windows;
    }

    /** The slots per window, {@code windowRows · windowCols}. */
    int cells() {
        return windowRows * windowCols;
    }

    /** The keys per window: its slots, then the tokens off the grid. */
    int keysPerWindow() {
        return cells() + offGrid.length;
    }

    /** The positions of the tokens off the grid, ascending (a copy). */
    int[] offGrid() {
        return offGrid.clone();
    }

    /** The token in slot {@code u} of window {@code w}, or -1 for a padded slot. */
    int position(int w, int u) {
        return slotPosition[w * cells() + u];
    }

    /**
     * Whether slot {@code u} of window {@code w} sees key {@code t} of the window (a slot for
     * {@code t < cells()}, else off-grid token {@code t − cells()}): a global key always, a slot when
     * it holds a token and lies in the same region as {@code u}.
     */
    boolean sees(int w, int u, int t) {
        int cells = cells();
        return t >= cells || slotPosition[w * cells + t] >= 0 && slotRegion[w * cells + t] == slotRegion[w * cells + u];
    }

    /**
     * The entry of the (2M−1)² relative-position table for query slot {@code u} and key slot
     * {@code t}: {@code (Δr + M − 1)·(2M − 1) + Δc + M − 1}, Δ the offset of u from t in the window
     * (the authors' {@code relative_position_index}).
     */
    int relativeIndex(int u, int t) {
        int dr = u / windowCols - t / windowCols;
        int dc = u % windowCols - t % windowCols;
        return (dr + window - 1) * (2 * window - 1) + dc + window - 1;
    }

    /**
     * The token of every slot, windows in order, a padded slot reading the grid's first cell (its
     * output is dropped); the layout's own array, not to be modified.
     */
    int[] queryIndex() {
        return queryIndex;
    }

    /**
     * The keys of every window, windows in order: its slots (a padded slot reading the grid's first
     * cell, masked), then the tokens off the grid; the layout's own array, not to be modified.
     */
    int[] keyIndex() {
        return keyIndex;
    }

    private int[] gatherQueries() {
        int[] index = new int[slotPosition.length];
        for (int i = 0; i < index.length; i++) {
            index[i] = slotPosition[i] < 0 ? grid.start() : slotPosition[i];
        }
        return index;
    }

    private int[] gatherKeys() {
        int cells = cells();
        int keys = keysPerWindow();
        int[] index = new int[windows * keys];
        for (int w = 0; w < windows; w++) {
            for (int t = 0; t < keys; t++) {
                index[w * keys + t] = t < cells ? Math.max(slotPosition[w * cells + t], grid.start())
                        : offGrid[t - cells];
            }
        }
        return index;
    }

    /**
     * For each token position, its row in the window outputs followed by the outputs of the tokens
     * off the grid: [windows · cells + offGrid] rows in, the sequence's {@code length} rows out.
     */
    int[] outputIndex() {
        int[] index = new int[length];
        Arrays.fill(index, -1);
        for (int i = 0; i < slotPosition.length; i++) {
            if (slotPosition[i] >= 0) {
                index[slotPosition[i]] = i;
            }
        }
        for (int g = 0; g < offGrid.length; g++) {
            index[offGrid[g]] = slotPosition.length + g;
        }
        return index;
    }

    @Override
    public String toString() {
        return "windows of " + windowRows + "x" + windowCols + " over the grid " + grid + ", shifted by " + shiftRows
                + "x" + shiftCols + ", " + offGrid.length + " tokens off the grid";
    }
}
