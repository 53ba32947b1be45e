package org.xformers4j.attention.sparse;

import java.util.Arrays;
import org.xformers4j.compute.BlockLayout;

/**
 * Builds a {@link BlockLayout} row by row (head after head, query block after query block): a
 * pattern adds the key blocks each row sees, in any order and with repeats; out-of-range blocks are
 * dropped, and with causal order every block after the row's own (entirely above the diagonal of a
 * self-attention). Memory grows with the non-empty blocks only.
 */
final class BlockRows {

    /** The most non-empty blocks a layout may have: beyond this, larger blocks are needed. */
    static final int MAX_BLOCKS = 1 << 27;

    private final int heads;
    private final int queryBlocks;
    private final int keyBlocks;
    private final boolean causal;
    private final int[] rowStart;
    private int[] columns = new int[64];
    private int size;
    private int row;

    /** Rows for {@code heads} heads (1: shared) of {@code queryBlocks} query blocks over {@code keyBlocks} key blocks. */
    BlockRows(int heads, int queryBlocks, int keyBlocks, boolean causal) {
        this.heads = heads;
        this.queryBlocks = queryBlocks;
        this.keyBlocks = keyBlocks;
        this.causal = causal;
        this.rowStart = new int[heads * queryBlocks + 1];
    }

    /** The query block of the row being built. */
    int queryBlock() {
        return row % queryBlocks;
    }

    /** The row sees key block {@code kb} (ignored out of range or, causal, after the row's own block). */
    void add(int kb) {
        if (kb < 0 || kb >= keyBlocks || causal && kb > queryBlock()) {
            return;
        }
        if (size == columns.length) {
            if (size >= MAX_BLOCKS) {
                throw new IllegalArgumentException("a block layout of more than " + MAX_BLOCKS
                        + " non-empty blocks is too large: use larger blocks");
            }
            columns = Arrays.copyOf(columns, Math.min(MAX_BLOCKS + 1, 2 * size));
        }
        columns[size++] = kb;
    }

    /** The row sees key blocks [from, to), clipped to the key blocks. */
    void addRange(int from, int to) {
        for (int kb = Math.max(0, from); kb < Math.min(to, keyBlocks); kb++) {
            add(kb);
        }
    }

    /** Ends the row: sorts its blocks and drops repeats. */
    void endRow() {
        int begin = rowStart[row];
        Arrays.sort(columns, begin, size);
        int n = begin;
        for (int c = begin; c < size; c++) {
            if (n == begin || columns[c] != columns[n - 1]) {
                columns[n++] = columns[c];
            }
        }
        size = n;
        rowStart[++row] = size;
    }

    /** The layout, once every row has ended. */
    BlockLayout build(int blockSize) {
        if (row != rowStart.length - 1) {
            throw new IllegalStateException(row + " of " + (rowStart.length - 1) + " rows built");
        }
        return new BlockLayout(blockSize, heads, queryBlocks, keyBlocks,
                rowStart, Arrays.copyOf(columns, size));
    }
}
