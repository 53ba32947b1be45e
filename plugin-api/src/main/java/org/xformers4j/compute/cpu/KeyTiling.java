package org.xformers4j.compute.cpu;

/**
 * How {@link CpuFlashAttention} cuts one head's queries into tiles, which keys each tile of queries
 * visits, and which scores of a visited tile it hides: every key up to the causal limit in tiles of
 * {@link CpuFlashAttention#BLOCK_Q} queries for dense attention ({@link #DENSE}), the non-empty
 * blocks of a layout for block-sparse attention ({@link BlockSparseTiling}). The tile steps are the
 * same for both; only these loops differ.
 */
interface KeyTiling {

    /** Tiles of {@link CpuFlashAttention#BLOCK_Q} queries, each visiting every key tile of {@link CpuFlashAttention#BLOCK_K} keys before its causal limit. */
    KeyTiling DENSE = new KeyTiling() {
        @Override
        public int queryTiles(int queryLength) {
            return (queryLength + CpuFlashAttention.BLOCK_Q - 1) / CpuFlashAttention.BLOCK_Q;
        }

        @Override
        public int firstQuery(int tile, int queryLength) {
            return Math.min(queryLength, tile * CpuFlashAttention.BLOCK_Q);
        }

        @Override
        public int maxKeyTiles(int keyLength) {
            return (keyLength + CpuFlashAttention.BLOCK_K - 1) / CpuFlashAttention.BLOCK_K;
        }

        @Override
        public int keyTiles(int head, int i0, int rows, int keyEnd, int keyLength, int[] spans) {
            int n = 0;
            for (int j0 = 0; j0 < keyEnd; j0 += CpuFlashAttention.BLOCK_K) {
                spans[n++] = j0;
                spans[n++] = Math.min(CpuFlashAttention.BLOCK_K, keyLength - j0);
            }
            return n / 2;
        }

        @Override
        public void hide(int head, int i0, int rows, int j0, int cols, Hidden hidden) {
        }
    };

    /** Query tiles of one head; some may be empty ({@link #firstQuery} of the next equal to this one's). */
    int queryTiles(int queryLength);

    /** The first query of tile {@code tile}; tile t holds queries [firstQuery(t), firstQuery(t + 1)), at most {@link CpuFlashAttention#BLOCK_Q}. */
    int firstQuery(int tile, int queryLength);

    /** The most key tiles {@link #keyTiles} writes for one tile of queries. */
    int maxKeyTiles(int keyLength);

    /**
     * Writes the key tiles that queries [i0, i0 + rows) of head {@code head} visit, in ascending
     * order, as pairs (first key, number of keys) into {@code spans}, and returns how many: each at
     * most {@link CpuFlashAttention#BLOCK_K} keys, starting at a multiple of the tile kernel's
     * {@link TileGemm#nr()} (the sliver width of the packed keys), and starting before {@code keyEnd} (the causal limit of the tile); a
     * tile may reach past it (the causal mask hides those keys).
     */
    int keyTiles(int head, int i0, int rows, int keyEnd, int keyLength, int[] spans);

    /**
     * Reports the rectangles of the tile (queries i0 .., keys j0 ..) of head {@code head} whose
     * scores the tiling hides, as offsets within the tile.
     */
    void hide(int head, int i0, int rows, int j0, int cols, Hidden hidden);

    /** Receives hidden rectangles: rows [r0, r1) by columns [c0, c1) of a tile. */
    @FunctionalInterface
    interface Hidden {
        void hide(int r0, int r1, int c0, int c1);
    }
}
