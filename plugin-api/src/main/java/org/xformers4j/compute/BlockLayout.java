package org.xformers4j.compute;

import java.util.Arrays;

/**
 * Which blocks of the score matrix a block-sparse attention computes ({@link AttentionProblem#layout()}):
 * queries and keys are cut into blocks of {@code blockSize} positions (the last block of each may be
 * shorter), query i in query block {@code i / blockSize}, key j in key block {@code j / blockSize},
 * and for every head and query block the layout lists the key blocks it sees, in compressed sparse
 * rows (CSR): row r = h · queryBlocks + qb holds the key blocks {@code columns[rowStart[r] ..
 * rowStart[r + 1])}, strictly ascending. One row list may serve every head ({@code heads == 1}).
 * A kernel visits only these blocks: time O(nonEmptyBlocks · blockSize² · d), and the layout itself
 * O(nonEmptyBlocks) memory (Child et al., 2019, "Generating Long Sequences with Sparse Transformers";
 * Gray, Radford and Kingma, 2017, "GPU Kernels for Block-Sparse Weights").
 *
 * @param blockSize   positions per block, at least 1
 * @param heads       1 (every head the same) or the problem's heads
 * @param queryBlocks ⌈queryLength / blockSize⌉
 * @param keyBlocks   ⌈keyLength / blockSize⌉
 * @param rowStart    heads · queryBlocks + 1 non-decreasing offsets into {@code columns}, from 0 to its length
 * @param columns     the key blocks of each row, strictly ascending within a row, each in [0, keyBlocks)
 */
public record BlockLayout(int blockSize, int heads, int queryBlocks, int keyBlocks, int[] rowStart, int[] columns) {

    /** Checks the structure and copies the arrays. */
    public BlockLayout {
        if (blockSize < 1 || heads < 1 || queryBlocks < 0 || keyBlocks < 0) {
            throw new IllegalArgumentException("block layout needs blockSize >= 1, heads >= 1 and block counts >= 0, got "
                    + blockSize + ", " + heads + ", " + queryBlocks + ", " + keyBlocks);
        }
        long rows = (long) heads * queryBlocks;
        if (rowStart == null || columns == null || rowStart.length != rows + 1) {
            throw new IllegalArgumentException("block layout needs " + (rows + 1) + " row offsets and the columns, got "
                    + (rowStart == null ? "none" : rowStart.length + " offsets"));
        }
        rowStart = rowStart.clone();
        columns = columns.clone();
        if (rowStart[0] != 0 || rowStart[(int) rows] != columns.length) {
            throw new IllegalArgumentException("block layout row offsets must run from 0 to the " + columns.length
                    + " columns, got " + rowStart[0] + " to " + rowStart[(int) rows]);
        }
        for (int r = 0; r < rows; r++) {
            if (rowStart[r + 1] < rowStart[r]) {
                throw new IllegalArgumentException("block layout row offsets must not decrease, row " + r + ": "
                        + rowStart[r] + " then " + rowStart[r + 1]);
            }
            for (int c = rowStart[r]; c < rowStart[r + 1]; c++) {
                if (columns[c] < 0 || columns[c] >= keyBlocks || c > rowStart[r] && columns[c] <= columns[c - 1]) {
                    throw new IllegalArgumentException("block layout row " + r + " must list distinct ascending key "
                            + "blocks in [0, " + keyBlocks + "), got " + columns[c] + " at " + (c - rowStart[r]));
                }
            }
        }
    }

    /**
     * The layout of a dense mask: {@code blocks[h][qb][kb]} says whether query block qb of head h sees
     * key block kb; every head's matrix the same size.
     */
    public static BlockLayout of(int blockSize, boolean[][][] blocks) {
        int heads = blocks.length;
        int queryBlocks = heads == 0 ? 0 : blocks[0].length;
        int keyBlocks = queryBlocks == 0 ? 0 : blocks[0][0].length;
        int[] rowStart = new int[heads * queryBlocks + 1];
        int count = 0;
        for (boolean[][] head : blocks) {
            for (boolean[] row : head) {
                for (boolean b : row) {
                    count += b ? 1 : 0;
                }
            }
        }
        int[] columns = new int[count];
        int n = 0;
        for (int h = 0; h < heads; h++) {
            if (blocks[h].length != queryBlocks) {
                throw new IllegalArgumentException("head " + h + " has " + blocks[h].length + " query blocks, head 0 "
                        + queryBlocks);
            }
            for (int qb = 0; qb < queryBlocks; qb++) {
                if (blocks[h][qb].length != keyBlocks) {
                    throw new IllegalArgumentException("head " + h + ", query block " + qb + " has "
                            + blocks[h][qb].length + " key blocks, expected " + keyBlocks);
                }
                for (int kb = 0; kb < keyBlocks; kb++) {
                    if (blocks[h][qb][kb]) {
                        columns[n++] = kb;
                    }
                }
                rowStart[h * queryBlocks + qb + 1] = n;
            }
        }
        return new BlockLayout(blockSize, heads, queryBlocks, keyBlocks, rowStart, columns);
    }

    /** A copy of the row offsets. */
    @Override
    public int[] rowStart() {
        return rowStart.clone();
    }

    /** A copy of the key blocks of every row. */
    @Override
    public int[] columns() {
        return columns.clone();
    }

    /** The CSR row of query block {@code qb} of head {@code h} (head 0's when every head shares one). */
    public int row(int h, int qb) {
        return (heads == 1 ? 0 : h) * queryBlocks + qb;
    }

    /** Whether query block {@code qb} of head {@code h} sees key block {@code kb}. */
    public boolean holds(int h, int qb, int kb) {
        int r = row(h, qb);
        return Arrays.binarySearch(columns, rowStart[r], rowStart[r + 1], kb) >= 0;
    }

    /**
     * The first key block at or after {@code kb} that row {@code row} sees, or {@code keyBlocks}
     * if none: a binary search of the row.
     */
    public int nextBlock(int row, int kb) {
        int at = Arrays.binarySearch(columns, rowStart[row], rowStart[row + 1], kb);
        int i = at >= 0 ? at : -at - 1;
        return i < rowStart[row + 1] ? columns[i] : keyBlocks;
    }

    /** The non-empty blocks of all rows (of one head when every head shares the rows). */
    public int nonEmptyBlocks() {
        return columns.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockLayout l && blockSize == l.blockSize && heads == l.heads
                && queryBlocks == l.queryBlocks && keyBlocks == l.keyBlocks && Arrays.equals(rowStart, l.rowStart)
                && Arrays.equals(columns, l.columns);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * blockSize + heads) + Arrays.hashCode(rowStart)) + Arrays.hashCode(columns);
    }

    @Override
    public String toString() {
        return "BlockLayout[blockSize=" + blockSize + ", heads=" + heads + ", queryBlocks=" + queryBlocks
                + ", keyBlocks=" + keyBlocks + ", nonEmptyBlocks=" + columns.length + "]";
    }
}
