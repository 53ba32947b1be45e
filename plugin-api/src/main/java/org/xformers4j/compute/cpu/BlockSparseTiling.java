package org.xformers4j.compute.cpu;

import org.xformers4j.compute.BlockLayout;

/**
 * The tiles of block-sparse attention ({@link org.xformers4j.compute.AttentionProblem#layout()}) for
 * {@link CpuFlashAttention}: only the key blocks of the layout are visited.
 *
 * <p>Query tiles follow the layout's blocks of b queries: one block per tile when
 * {@link TileGemm#MR} ≤ b ≤ {@link CpuFlashAttention#BLOCK_Q}; ⌈MR / b⌉ blocks per tile for smaller
 * blocks (a product of fewer than MR rows costs as much as MR); a block cut into ⌈b / BLOCK_Q⌉
 * tiles of at most BLOCK_Q queries for larger ones. A tile of queries visits the key slivers (nr
 * consecutive keys, the width of the packed keys) that hold a key of a block one of its rows
 * sees, consecutive slivers merged into key tiles of at most {@link CpuFlashAttention#BLOCK_K}
 * keys; inside them the keys of blocks a row does not see are hidden (-∞). When b is a multiple of
 * nr and a tile is one block, a key tile is exactly a run of the row's blocks and nothing is
 * hidden. Work per head is O(nonEmptyBlocks · b² · d), plus a binary search per visited sliver.
 */
final class BlockSparseTiling implements KeyTiling {

    private final BlockLayout layout;
    private final int b;
    private final int nr;
    /** Layout blocks per query tile (≥ 1), and query tiles per layout block (≥ 1); one of them is 1. */
    private final int blocksPerTile;
    private final int tilesPerBlock;
    /** Queries per tile when a block is cut into several. */
    private final int tileRows;

    BlockSparseTiling(BlockLayout layout, int nr) {
        this.layout = layout;
        this.b = layout.blockSize();
        this.nr = nr;
        this.blocksPerTile = b < TileGemm.MR ? (TileGemm.MR + b - 1) / b : 1;
        this.tilesPerBlock = (b + CpuFlashAttention.BLOCK_Q - 1) / CpuFlashAttention.BLOCK_Q;
        this.tileRows = (b + tilesPerBlock - 1) / tilesPerBlock;
    }

    @Override
    public int queryTiles(int queryLength) {
        int blocks = (queryLength + b - 1) / b;
        return (blocks + blocksPerTile - 1) / blocksPerTile * tilesPerBlock;
    }

    @Override
    public int firstQuery(int tile, int queryLength) {
        int block = tile / tilesPerBlock * blocksPerTile;
        return Math.min(queryLength, block * b + Math.min(b, tile % tilesPerBlock * tileRows));
    }

    @Override
    public int maxKeyTiles(int keyLength) {
        // at worst every other sliver, each its own tile
        return (keyLength + nr - 1) / nr;
    }

    @Override
    public int keyTiles(int head, int i0, int rows, int keyEnd, int keyLength, int[] spans) {
        int firstRow = layout.row(head, i0 / b);
        int lastRow = layout.row(head, (i0 + rows - 1) / b);
        int n = 0;
        int key = nextKey(firstRow, lastRow, 0, keyLength);
        while (key < keyEnd) {
            int start = key / nr * nr;
            int end = start + nr;
            while (end < keyLength && nextKey(firstRow, lastRow, end, keyLength) < end + nr) {
                end += nr;
            }
            end = Math.min(end, keyLength);
            for (int j0 = start; j0 < end && j0 < keyEnd; j0 += CpuFlashAttention.BLOCK_K) {
                spans[n++] = j0;
                spans[n++] = Math.min(CpuFlashAttention.BLOCK_K, end - j0);
            }
            key = nextKey(firstRow, lastRow, end, keyLength);
        }
        return n / 2;
    }

    @Override
    public void hide(int head, int i0, int rows, int j0, int cols, Hidden hidden) {
        int end = j0 + cols;
        for (int qb = i0 / b; qb * b < i0 + rows; qb++) {
            int row = layout.row(head, qb);
            int r0 = Math.max(i0, qb * b) - i0;
            int r1 = Math.min(i0 + rows, qb * b + b) - i0;
            int c = j0;
            while (c < end) {
                int visible = Math.min(end, nextKey(row, row, c, end));
                if (visible > c) {
                    hidden.hide(r0, r1, c - j0, visible - j0);
                }
                c = (visible / b + 1) * b;
            }
        }
    }

    /**
     * The first key at or after {@code from} that a row in [firstRow, lastRow] sees, or
     * {@code limit} when none is before it.
     */
    private int nextKey(int firstRow, int lastRow, int from, int limit) {
        int best = limit;
        for (int row = firstRow; row <= lastRow; row++) {
            int kb = layout.nextBlock(row, from / b);
            best = Math.min(best, Math.max(from, kb * b));
        }
        return best;
    }
}
