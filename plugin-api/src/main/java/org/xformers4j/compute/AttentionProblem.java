package org.xformers4j.compute;

import java.util.Arrays;
import java.util.Objects;

/**
 * The sizes and options of one fused attention call ({@link ComputeBackend#scaledDotProductAttention}
 * and its backward): {@code batch · heads} independent problems of {@code queryLength} queries over
 * {@code keyLength} keys.
 *
 * <ul>
 *   <li>{@code scale}: multiplier of the query-key dot products.</li>
 *   <li>{@code causal}: query i sees keys j &lt;= keyLength - queryLength + i (queries are aligned to
 *       the end of the keys, as in incremental decoding).</li>
 *   <li>{@code biasShape}: null without an additive bias, otherwise its shape as four sizes, each 1
 *       (broadcast) or the matching size of [batch, heads, queryLength, keyLength]; the bias buffer
 *       is that shape, row-major.</li>
 *   <li>{@code dropout} and {@code seed}: attention-weight dropout with probability {@code dropout};
 *       whether a weight is kept is the function {@link #keeps} of the seed and the weight's
 *       coordinates, so a backward pass regenerates the mask of its forward pass without storing
 *       it and every backend drops the same weights.</li>
 *   <li>{@code layout}: null for dense attention; otherwise a {@link BlockLayout} of blocks of
 *       queries and keys, and a query sees only the keys of the blocks its row of the layout lists
 *       (block-sparse attention): a kernel visits only those blocks.</li>
 * </ul>
 */
public record AttentionProblem(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim,
                               float scale, boolean causal, int[] biasShape, float dropout, long seed,
                               BlockLayout layout) {

    /** SplitMix64's increment, the odd integer closest to 2^64 / φ. */
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    /** A dense problem: no block layout. */
    public AttentionProblem(int batch, int heads, int queryLength, int keyLength, int headDim, int valueDim,
                            float scale, boolean causal, int[] biasShape, float dropout, long seed) {
        this(batch, heads, queryLength, keyLength, headDim, valueDim, scale, causal, biasShape, dropout, seed, null);
    }

    public AttentionProblem {
        int[] sizes = {batch, heads, queryLength, keyLength, headDim, valueDim};
        String[] names = {"batch", "heads", "queryLength", "keyLength", "headDim", "valueDim"};
        for (int d = 0; d < sizes.length; d++) {
            if (sizes[d] < 0) {
                throw new IllegalArgumentException("attention " + names[d] + " must be >= 0, got " + sizes[d]);
            }
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("attention scale must be finite, got " + scale);
        }
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + dropout);
        }
        if (biasShape != null) {
            biasShape = biasShape.clone();
            int[] scores = {batch, heads, queryLength, keyLength};
            boolean broadcasts = biasShape.length == 4;
            for (int d = 0; broadcasts && d < 4; d++) {
                broadcasts = biasShape[d] == 1 || biasShape[d] == scores[d];
            }
            if (!broadcasts) {
                throw new IllegalArgumentException("attention biasShape " + Arrays.toString(biasShape)
                        + " must have four sizes, each 1 or the size of the scores " + Arrays.toString(scores));
            }
        }
        if (layout != null) {
            int b = layout.blockSize();
            int queryBlocks = (queryLength + b - 1) / b;
            int keyBlocks = (keyLength + b - 1) / b;
            if (layout.queryBlocks() != queryBlocks || layout.keyBlocks() != keyBlocks
                    || layout.heads() != 1 && layout.heads() != heads) {
                throw new IllegalArgumentException("attention " + layout + " does not fit " + heads + " heads of "
                        + queryLength + " queries and " + keyLength + " keys in blocks of " + b + ": it needs "
                        + queryBlocks + " query blocks, " + keyBlocks + " key blocks and 1 or " + heads + " heads");
            }
        }
    }

    /** This problem restricted to the blocks of {@code blocks} (null: dense). */
    public AttentionProblem withLayout(BlockLayout blocks) {
        return new AttentionProblem(batch, heads, queryLength, keyLength, headDim, valueDim, scale, causal, biasShape,
                dropout, seed, blocks);
    }

    /**
     * Whether the layout lets query {@code i} of head {@code h} see key {@code j}: always without a
     * layout.
     */
    public boolean layoutHolds(int h, int i, int j) {
        return layout == null || layout.holds(h, i / layout.blockSize(), j / layout.blockSize());
    }

    /** A copy of the bias shape, or null. */
    @Override
    public int[] biasShape() {
        return biasShape == null ? null : biasShape.clone();
    }

    /**
     * Row-major strides of the bias buffer over [batch, heads, queryLength, keyLength], 0 along the
     * broadcast dimensions; null without a bias.
     */
    public int[] biasStrides() {
        if (biasShape == null) {
            return null;
        }
        int[] strides = new int[4];
        int stride = 1;
        for (int d = 3; d >= 0; d--) {
            strides[d] = biasShape[d] == 1 ? 0 : stride;
            stride *= biasShape[d];
        }
        return strides;
    }

    /**
     * Whether dropout keeps the weight of query {@code i} for key {@code j} in batch element
     * {@code b}, head {@code h}: the weight's row-major index n in [batch, heads, queryLength,
     * keyLength] picks the n-th output of SplitMix64 seeded with {@link #seed} (Steele, Lea and Flood,
     * 2014, "Fast Splittable Pseudorandom Number Generators"), whose top 24 bits are a uniform u in
     * [0, 1); the weight is kept when u &gt;= dropout. Always true without dropout.
     */
    public boolean keeps(int b, int h, int i, int j) {
        if (dropout == 0f) {
            return true;
        }
        long index = (((long) b * heads + h) * queryLength + i) * keyLength + j;
        long z = seed + (index + 1) * GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 40) * 0x1.0p-24f >= dropout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionProblem p && batch == p.batch && heads == p.heads
                && queryLength == p.queryLength && keyLength == p.keyLength && headDim == p.headDim
                && valueDim == p.valueDim && Float.compare(scale, p.scale) == 0 && causal == p.causal
                && Arrays.equals(biasShape, p.biasShape) && Float.compare(dropout, p.dropout) == 0 && seed == p.seed
                && Objects.equals(layout, p.layout);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[] {batch, heads, queryLength, keyLength, headDim, valueDim, scale, causal,
            Arrays.hashCode(biasShape), dropout, seed, layout});
    }

    @Override
    public String toString() {
        return "AttentionProblem[batch=" + batch + ", heads=" + heads + ", queryLength=" + queryLength
                + ", keyLength=" + keyLength + ", headDim=" + headDim + ", valueDim=" + valueDim + ", scale=" + scale
                + ", causal=" + causal + ", biasShape=" + Arrays.toString(biasShape) + ", dropout=" + dropout
                + ", seed=" + seed + ", layout=" + layout + "]";
    }
}
