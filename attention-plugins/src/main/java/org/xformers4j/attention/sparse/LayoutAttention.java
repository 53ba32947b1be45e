package org.xformers4j.attention.sparse;

import java.util.BitSet;
import java.util.random.RandomGenerator;
import org.xformers4j.attention.exact.SoftmaxAttention;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.attention.internal.FusedAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.component.attention.StackAware;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.compute.BlockLayout;
import org.xformers4j.nn.SharedParameters;
import org.xformers4j.tensor.Tensor;

/**
 * Softmax attention over the blocks of a {@link BlockLayout}: the queries and keys of a
 * self-attention of N positions are cut into ⌈N / b⌉ blocks of b positions (the last one shorter
 * when b does not divide N) and query block qb of head h sees exactly the key blocks its row of the
 * layout lists, on the compute backend's fused kernel ({@link FusedAttention}, FlashAttention-2's
 * tiles), which visits only those blocks forward and backward: time O(nonEmptyBlocks · b² · d),
 * memory O(N · d) for the kernel plus the layout's O(nonEmptyBlocks) indices. Under a causal
 * context the blocks after a query block's own are dropped from the layout (never visited) and the
 * causal mask applies inside the diagonal blocks. The key padding mask, an additive bias (with its
 * gradient) and attention dropout apply as in {@code flash}; a query that sees no key outputs
 * zeros. The pattern ({@link #pattern}) is exactly the pairs of the layout's blocks.
 *
 * <p>The layout of a sequence length is built once per length, causal flag and head count, and kept
 * while the length stays the same; a random layout is drawn from the mechanism's seed mixed with
 * its layer index in the stack ({@link StackAware}), so it is fixed per layer and differs between
 * layers.
 *
 * <p>FLOPs ({@link org.xformers4j.component.attention.FlopCount}): those of {@code flash} over the
 * score pairs of the non-empty blocks only: forward {@code 2·B·Σ_h S_h·(D + Dv)}, S_h the pairs of
 * head h's non-empty blocks (partial blocks counted by their size), backward 2.5 times that.
 */
public abstract class LayoutAttention extends SoftmaxAttention implements PatternedAttention, WeightedAttention, StackAware {

    /** SplitMix64's increment, to mix the layer index into the seed. */
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private int layer;
    private boolean placed;
    private boolean initialized;
    /** The layout of the last length, causal flag and head count. */
    private volatile Cached cached;

    private record Cached(int heads, int length, boolean causal, BlockLayout layout) {
    }

    /** For OLCUT. */
    protected LayoutAttention() {
    }

    /** Attention scaled by {@code scale} (1/sqrt(headDim) when 0). */
    protected LayoutAttention(float scale) {
        super(scale);
    }

    /** Positions per block. */
    public abstract int blockSize();

    /**
     * Adds the key blocks of the current row of {@code rows} (head {@code h}, query block
     * {@link BlockRows#queryBlock()}) of a layout of {@code n} × {@code n} blocks.
     *
     * @param rng the layer's generator, for random blocks; rows are built head by head, block by block
     */
    abstract void addRow(BlockRows rows, int h, int n, boolean causal, RandomGenerator rng);

    /** Whether every head has the same rows (the layout then stores one head's). */
    abstract boolean sharedByHeads();

    /** The seed of the random blocks (mixed with the layer index). */
    abstract long seed();

    /** Checks that the pattern can serve {@code heads} heads over {@code n} blocks. */
    void checkFits(int heads, int n) {
    }

    /** Memory key-values would be keys outside every block: not supported. */
    @Override
    protected boolean supports(Option option) {
        return option != Option.MEMORY_KEY_VALUES;
    }

    @Override
    public void placeInStack(int layer, int layers, SharedParameters shared) {
        AttentionInputs.checkPlacement(name(), layer, layers, shared, placed || initialized);
        this.placed = true;
        this.layer = layer;
    }

    /** The layer of its stack this mechanism was placed at, 0 when it was not placed. */
    public int layer() {
        return layer;
    }

    @Override
    public void initialize(int heads, int headDim, RandomGenerator rng) {
        super.initialize(heads, headDim, rng);
        initialized = true;
    }

    /**
     * The layout of self-attention over {@code length} positions for {@code heads} heads.
     *
     * @throws IllegalArgumentException where the pattern cannot serve these sizes
     */
    public BlockLayout layout(int heads, int length, boolean causal) {
        Cached c = cached;
        if (c != null && c.heads == heads && c.length == length && c.causal == causal) {
            return c.layout;
        }
        int b = blockSize();
        int n = (length + b - 1) / b;
        checkFits(heads, n);
        RandomGenerator rng = new java.util.SplittableRandom(seed() + GOLDEN_GAMMA * (layer + 1L));
        int layoutHeads = sharedByHeads() ? 1 : heads;
        BlockRows rows = new BlockRows(layoutHeads, n, n, causal);
        for (int h = 0; h < layoutHeads; h++) {
            for (int qb = 0; qb < n; qb++) {
                addRow(rows, h, n, causal, rng);
                rows.endRow();
            }
        }
        BlockLayout layout = rows.build(b);
        cached = new Cached(heads, length, causal, layout);
        return layout;
    }

    /** Self-attention only: q [B, H, N, D], k [B, H, N, D], v [B, H, N, Dv] → [B, H, N, Dv]. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(name(), query, key, value, context);
        if (query.size(2) != key.size(2)) {
            throw notSelfAttention("query " + AttentionInputs.shape(query) + " and key " + AttentionInputs.shape(key));
        }
        BlockLayout layout = layout(query.size(1), query.size(2), context.causal());
        return FusedAttention.apply(query, key, value, context, scoreScale(query.size(3)), layout);
    }

    private void requireSelfAttention(int queryLength, int keyLength) {
        if (queryLength != keyLength) {
            throw notSelfAttention("query length " + queryLength + " and key length " + keyLength);
        }
    }

    private IllegalArgumentException notSelfAttention(String what) {
        return new IllegalArgumentException(name() + ": a block layout is over the positions of one sequence: "
                + what + " must have the same length (no cross-attention or incremental decoding)");
    }

    /** The weights of softmax attention over the layout's blocks; see {@link #pattern}. */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /** The pairs of the layout's blocks, per head (the causal mask inside the diagonal blocks is the context's). */
    @Override
    public AttentionPattern pattern(int heads, int queryLength, int keyLength, AttentionContext context) {
        requireSelfAttention(queryLength, keyLength);
        BlockLayout layout = layout(heads, queryLength, context.causal());
        int b = layout.blockSize();
        int[] rowStart = layout.rowStart();
        int[] columns = layout.columns();
        BitSet allowed = new BitSet();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < queryLength; i++) {
                int row = layout.row(h, i / b);
                for (int c = rowStart[row]; c < rowStart[row + 1]; c++) {
                    int from = (h * queryLength + i) * keyLength + columns[c] * b;
                    allowed.set(from, from + Math.min(b, keyLength - columns[c] * b));
                }
            }
        }
        return new AttentionPattern(heads, queryLength, keyLength, allowed, null);
    }

    /** The score pairs of one head's non-empty blocks, averaged over {@code heads} heads. */
    private double pairsPerHead(int heads, int length, boolean causal) {
        BlockLayout layout = layout(heads, length, causal);
        int b = layout.blockSize();
        int[] rowStart = layout.rowStart();
        int[] columns = layout.columns();
        double pairs = 0;
        for (int row = 0; row < rowStart.length - 1; row++) {
            int qb = row % layout.queryBlocks();
            int rowsOfBlock = Math.min(b, length - qb * b);
            for (int c = rowStart[row]; c < rowStart[row + 1]; c++) {
                pairs += (double) rowsOfBlock * Math.min(b, length - columns[c] * b);
            }
        }
        return pairs / layout.heads();
    }

    /** One head's pairs (the pattern of head 0 for a per-head layout). */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        requireSelfAttention(queryLength, keyLength);
        return pairsPerHead(1, queryLength, causal);
    }

    @Override
    public double forwardFlops(Shape shape) {
        requireSelfAttention(shape.queryLength(), shape.keyLength());
        return 2 * shape.batchHeads() * pairsPerHead(shape.heads(), shape.queryLength(), shape.causal())
                * (shape.headDim() + shape.valueDim());
    }

    /** 2.5 times the forward: the backward recomputes the scores (FlashAttention-2, §4.1). */
    @Override
    public double backwardFlops(Shape shape) {
        return 2.5 * forwardFlops(shape);
    }
}
