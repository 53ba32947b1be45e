package org.xformers4j.attention.local;

import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Softmax attention restricted to a band around each query, computed block by block so that no
 * [queryLength, keyLength] matrix is ever formed; shared by {@link LocalAttention} and
 * {@link SlidingWindowAttention}.
 *
 * <p>The queries are cut into {@code blocks} blocks of {@code blockLength} consecutive positions
 * (the last one padded by repeating the last query; its padded rows are dropped from the output).
 * Block m attends to a window of {@code windowLength} consecutive key positions that starts
 * {@code windowStart} positions after the block's first query position. Within the window a key
 * is masked when it lies outside [0, keyLength), when it is padded, or when its offset from the
 * query, {@code keyPosition - queryPosition}, lies outside [{@code minOffset}, {@code maxOffset}].
 * Queries are end-aligned with the keys as in {@link AttentionContext}: query i sits at key
 * position {@code keyLength - queryLength + i}.
 *
 * <p>The windows are gathered with one index-select per tensor, [B, H, blocks·windowLength, D]
 * viewed as [B, H, blocks, windowLength, D], so the scores are [B, H, blocks, blockLength,
 * windowLength]: time and memory O(N·windowLength). The offset of a window slot from a query slot,
 * {@code windowStart + t - u}, is the same in every block, so the band mask is one
 * [blockLength, windowLength] matrix broadcast over the blocks; only the validity of the keys
 * (range, padding) varies per block, as a [B, 1, blocks, 1, windowLength] mask. Autograd
 * differentiates through the index-selects (their backward adds the gradient back at the same key
 * positions).
 */
final class Chunking {

    /**
     * Added to masked scores before the softmax: -∞, so that a masked key takes no weight whatever
     * its bias (a finite stand-in would lose to a visible key's large negative bias), and a row
     * with every key masked is all -∞, which the softmax turns into zeros. Adding a broadcast mask
     * is a plain elementwise add, several times faster than a masked fill of the scores.
     */
    private static final float MASKED_SCORE = Float.NEGATIVE_INFINITY;

    private final int queryLength;
    private final int keyLength;
    private final int blockLength;
    private final int blocks;
    private final int windowStart;
    private final int windowLength;
    private final int minOffset;
    private final int maxOffset;

    /**
     * @param queryLength  number of queries, end-aligned with the keys
     * @param keyLength    number of keys
     * @param blockLength  queries per block
     * @param windowStart  key position of window slot 0 minus the position of the block's first query
     * @param windowLength keys per window
     * @param minOffset    smallest visible {@code keyPosition - queryPosition}
     * @param maxOffset    largest visible {@code keyPosition - queryPosition}
     */
    Chunking(int queryLength, int keyLength, int blockLength, int windowStart, int windowLength, int minOffset,
             int maxOffset) {
        this.queryLength = queryLength;
        this.keyLength = keyLength;
        this.blockLength = blockLength;
        this.blocks = Math.max(1, (queryLength + blockLength - 1) / blockLength);
        this.minOffset = minOffset;
        this.maxOffset = maxOffset;
        if (blocks == 1) {
            // one block: no other block shares the window, so keep only the part inside [0, keyLength)
            int first = keyLength - queryLength + windowStart;
            int from = Math.max(first, 0);
            int to = Math.min(first + windowLength, keyLength);
            this.windowStart = windowStart + from - first;
            this.windowLength = Math.max(to - from, 1);
        } else {
            this.windowStart = windowStart;
            this.windowLength = windowLength;
        }
    }

    /** Scores computed per batch element and head: every block's queries against its whole window, masked slots included. */
    double scores() {
        return (double) blocks * blockLength * windowLength;
    }

    /**
     * The banded attention: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv];
     * the context's key padding mask, additive bias (its band is gathered) and dropout apply as in
     * {@link FullAttention}, and a query whose visible keys are all masked outputs zeros.
     */
    Tensor attend(Tensor q, Tensor k, Tensor v, AttentionContext context, float scale) {
        int batch = q.size(0);
        int heads = q.size(1);
        int[] queryIndex = queryIndex();
        int[] keyIndex = keyIndex();
        // qb [B, H, n, c, D], kb [B, H, n, w, D], vb [B, H, n, w, Dv]
        Tensor qb = (queryIndex == null ? q : q.indexSelect(2, queryIndex))
                .reshape(batch, heads, blocks, blockLength, q.size(3));
        Tensor kb = k.indexSelect(2, keyIndex).reshape(batch, heads, blocks, windowLength, k.size(3));
        Tensor vb = v.indexSelect(2, keyIndex).reshape(batch, heads, blocks, windowLength, v.size(3));

        // scores [B, H, n, c, w] = (qb · s) kbᵀ
        Tensor scores = qb.mul(scale).matmul(kb, false, true);
        if (context.bias() != null) {
            scores = scores.add(band(context.bias()));
        }
        Tensor masked = mask(context.keyPaddingMask(), q);
        if (masked != null) {
            scores = scores.add(masked);
        }
        // a query with every key masked (padding, a bias of -∞) has a row of -∞: zeros, zero gradient
        Tensor weights = scores.softmax(-1);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        // out [B, H, n, c, Dv] → [B, H, n·c, Dv] → [B, H, Lq, Dv]
        Tensor out = weights.matmul(vb).reshape(batch, heads, blocks * blockLength, v.size(3));
        return queryIndex == null ? out : out.narrow(2, 0, queryLength);
    }

    /** Key position of query slot u of block m. */
    private int queryPosition(int m, int u) {
        return keyLength - queryLength + m * blockLength + u;
    }

    /** Key position of window slot t of block m; may lie outside [0, keyLength). */
    private int keyPosition(int m, int t) {
        return queryPosition(m, 0) + windowStart + t;
    }

    /** The query of each block slot, the last repeated into the padding; null when no padding is needed. */
    private int[] queryIndex() {
        if (blocks * blockLength == queryLength) {
            return null;
        }
        int[] index = new int[blocks * blockLength];
        for (int i = 0; i < index.length; i++) {
            index[i] = Math.min(i, queryLength - 1);
        }
        return index;
    }

    /** The key of each window slot, clamped into [0, keyLength) (out-of-range slots are masked). */
    private int[] keyIndex() {
        int[] index = new int[blocks * windowLength];
        for (int m = 0; m < blocks; m++) {
            for (int t = 0; t < windowLength; t++) {
                index[m * windowLength + t] = clampKey(keyPosition(m, t));
            }
        }
        return index;
    }

    private int clampKey(int position) {
        return Math.min(Math.max(position, 0), keyLength - 1);
    }

    /**
     * The additive mask, {@link #MASKED_SCORE} where a score is masked and 0 elsewhere,
     * [B or 1, 1, n, c, w]: the band mask [c, w] (the same for every block) combined with the
     * invalid keys [B or 1, 1, n, 1, w]; null when nothing is masked.
     */
    private Tensor mask(Tensor keyPaddingMask, Tensor like) {
        float[] outsideBand = new float[blockLength * windowLength];
        boolean anyOutside = false;
        for (int u = 0; u < blockLength; u++) {
            for (int t = 0; t < windowLength; t++) {
                int offset = windowStart + t - u;
                if (offset < minOffset || offset > maxOffset) {
                    outsideBand[u * windowLength + t] = MASKED_SCORE;
                    anyOutside = true;
                }
            }
        }
        float[] padded = keyPaddingMask == null ? null : keyPaddingMask.toFloatArray();
        int maskBatch = padded == null ? 1 : keyPaddingMask.size(0);
        float[] invalid = new float[maskBatch * blocks * windowLength];
        boolean anyInvalid = false;
        for (int b = 0; b < maskBatch; b++) {
            for (int m = 0; m < blocks; m++) {
                for (int t = 0; t < windowLength; t++) {
                    int position = keyPosition(m, t);
                    boolean out = position < 0 || position >= keyLength
                            || (padded != null && padded[b * keyLength + position] != 0f);
                    if (out) {
                        invalid[(b * blocks + m) * windowLength + t] = MASKED_SCORE;
                        anyInvalid = true;
                    }
                }
            }
        }
        Tensor band = Tensor.of(like.backend(), outsideBand, 1, 1, 1, blockLength, windowLength);
        Tensor keys = Tensor.of(like.backend(), invalid, maskBatch, 1, blocks, 1, windowLength);
        if (anyOutside && anyInvalid) {
            return band.minimum(keys);
        }
        return anyOutside ? band : anyInvalid ? keys : null;
    }

    /**
     * The band of a bias broadcastable to [B, H, Lq, Lk]: [Bb, Hb, n, c, w] with Bb, Hb its own
     * batch and head sizes (1 or B, H), gathered with one index-select on the flattened
     * [query, key] plane so that its gradient flows back to exactly the gathered entries.
     */
    private Tensor band(Tensor bias) {
        int[] s = {1, 1, 1, 1};
        System.arraycopy(bias.shape(), 0, s, 4 - bias.dim(), bias.dim());
        int rows = s[2];
        int columns = s[3];
        int[] index = new int[blocks * blockLength * windowLength];
        for (int m = 0; m < blocks; m++) {
            for (int u = 0; u < blockLength; u++) {
                int row = rows == 1 ? 0 : Math.min(m * blockLength + u, queryLength - 1);
                for (int t = 0; t < windowLength; t++) {
                    int column = columns == 1 ? 0 : clampKey(keyPosition(m, t));
                    index[(m * blockLength + u) * windowLength + t] = row * columns + column;
                }
            }
        }
        return bias.reshape(s[0], s[1], rows * columns).indexSelect(2, index)
                .reshape(s[0], s[1], blocks, blockLength, windowLength);
    }
}
