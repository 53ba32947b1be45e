package org.xformers4j.attention.hashing;

import java.util.Arrays;

/**
 * The host-side bookkeeping of one {@link LshAttention} call: the sort of every hash round by
 * (bucket, position), the cut of the sorted sequence into chunks, which rows each chunk reads and
 * what each query may see. The tensors are then moved with {@code indexSelect}, so autograd carries
 * the gradients back through the sort.
 *
 * <p>Per batch·head row and round ("group" g = bh·rounds + r), the sorted sequence of
 * {@code length} positions is padded to {@code count · chunkLength} slots; padding slots read
 * position 0 and are masked as keys and never read back as queries. Chunk j's keys are the
 * {@code window = (chunksBefore + 1 + chunksAfter) · chunkLength} slots of chunks
 * j - chunksBefore … j + chunksAfter of the same round (no wrap-around; chunks outside the round are
 * masked), so a query's keys hold no position twice.
 *
 * <p>Padded keys (the context's key padding mask) are sorted after every bucket, so the order of
 * the other positions, and hence their chunks, does not depend on what the padded positions hold.
 * As queries they keep their hashed bucket and attend by the same rules from the sorted tail.
 *
 * <p>What a query may see is given in three parts, so that the common case needs no
 * [chunks, chunkLength, window] array on the host: a per-key-slot bias (0, or {@link #MASKED} for
 * a window slot outside the round and for a padded key), the constant {@link #selfScores()} on
 * each query's own slot, and, only when a query's keys depend on the query itself, a pair mask: with
 * {@code attendAcrossBuckets = false} keys of other buckets, and with a causal context everything
 * but the {@code chunksBefore · chunkLength} sorted slots before it that hold earlier positions of
 * its own bucket (a sliding window, not the chunk boundaries): a position's sorted index counts the
 * positions hashed to lower buckets, later ones included, so chunk boundaries would let a future
 * position's hash decide which earlier keys a query sees. Within one bucket the sorted order is the
 * position order, so this window depends only on earlier positions.
 */
final class LshChunks {

    /**
     * The score of a query for its own key: so low that it takes weight only when nothing else is
     * visible (Kitaev et al., 2020, §2: a shared-QK query would otherwise mostly attend to itself),
     * yet finite and far above {@link #MASKED}.
     */
    static final float SELF_SCORE = -1e5f;

    /**
     * The score of a key a query may not see: -∞, so it takes no weight, and a query that may see
     * no key at all has a row of -∞, which the softmax turns into zeros (output zeros, as in full
     * attention) and the log-sum-exp into -∞ (no weight in the merge of the rounds).
     */
    static final float MASKED = Float.NEGATIVE_INFINITY;

    /** Chunks per round. */
    final int count;
    /** Query slots per chunk. */
    final int chunkLength;
    /** Key slots per chunk. */
    final int window;
    /** The window slot of chunk-query 0's own key: chunksBefore · chunkLength. */
    private final int selfOffset;
    /** Row of the [batch·heads·length, ·] input for each query slot, [groups, count·chunkLength]. */
    final int[] queryRows;
    /** Row of the input for each key slot, [groups, count, window]. */
    final int[] keyRows;
    /** 0 for a key slot a chunk's queries may see, {@link #MASKED} for one they may not, [groups, count, window]. */
    final float[] keyBias;
    /**
     * 1 where a query may not see a key slot for reasons of the pair (bucket, causality),
     * [groups, count, chunkLength, window]; null when the key bias says everything.
     */
    final float[] pairMask;
    /** Row of the [groups · count·chunkLength, ·] sorted output for each position, [groups, length]. */
    final int[] unsortRows;

    /** Positions per chunk for a sequence of {@code length}: a chunk longer than it holds it all. */
    static int chunkLength(LshAttention lsh, int length) {
        return Math.min(lsh.chunkLength(), Math.max(1, length));
    }

    /** Key slots per chunk: its own chunk and its chunksBefore and chunksAfter neighbours. */
    static int window(LshAttention lsh, int chunkLength) {
        return (lsh.chunksBefore() + 1 + lsh.chunksAfter()) * chunkLength;
    }

    /**
     * @param buckets [batch·heads, rounds, length] from {@link LshHashing#buckets}
     * @param padded  [batch, length], true where the key is padding; null when nothing is padded
     */
    LshChunks(LshAttention lsh, int[] buckets, boolean[] padded, int batch, int heads, int length, boolean causal) {
        int rounds = lsh.numHashes();
        int before = lsh.chunksBefore();
        int numBuckets = lsh.numBuckets();
        boolean sameBucketOnly = causal || !lsh.attendAcrossBuckets();
        this.chunkLength = chunkLength(lsh, length);
        this.selfOffset = before * chunkLength;
        this.count = (length + chunkLength - 1) / chunkLength;
        this.window = window(lsh, chunkLength);
        int slots = count * chunkLength;
        int groups = batch * heads * rounds;
        this.queryRows = new int[groups * slots];
        this.keyRows = new int[groups * count * window];
        this.keyBias = new float[groups * count * window];
        this.pairMask = sameBucketOnly ? new float[groups * slots * window] : null;
        this.unsortRows = new int[groups * length];

        int[] sorted = new int[slots];      // position at each sorted slot, -1 for padding slots
        int[] sortedBucket = new int[slots]; // its bucket (the hashed one also for padded keys)
        int[] keyIndex = new int[window];   // sorted slot of each key slot, -1 outside the round
        for (int g = 0; g < groups; g++) {
            int bh = g / rounds;
            int b = bh / heads;
            sort(buckets, g * length, padded, b * length, length, numBuckets, sorted, sortedBucket);
            for (int t = 0; t < slots; t++) {
                queryRows[g * slots + t] = bh * length + Math.max(sorted[t], 0);
                if (sorted[t] >= 0) {
                    unsortRows[g * length + sorted[t]] = g * slots + t;
                }
            }
            for (int j = 0; j < count; j++) {
                int chunkRow = g * count + j;
                for (int w = 0; w < window; w++) {
                    int chunk = j - before + w / chunkLength;
                    int slot = chunk * chunkLength + w % chunkLength;
                    boolean inRound = chunk >= 0 && chunk < count && sorted[slot] >= 0;
                    keyIndex[w] = inRound ? slot : -1;
                    keyRows[chunkRow * window + w] = bh * length + (inRound ? sorted[slot] : 0);
                    boolean visible = inRound && !(padded != null && padded[b * length + sorted[slot]]);
                    keyBias[chunkRow * window + w] = visible ? 0f : MASKED;
                }
                for (int i = 0; pairMask != null && i < chunkLength; i++) {
                    int t = j * chunkLength + i;
                    int row = g * slots + t;
                    for (int w = 0; w < window; w++) {
                        int slot = keyIndex[w];
                        boolean masked = sorted[t] < 0 || keyBias[chunkRow * window + w] == MASKED
                                || sortedBucket[slot] != sortedBucket[t]
                                || causal && (sorted[slot] > sorted[t] || slot < t - selfOffset);
                        pairMask[row * window + w] = masked ? 1f : 0f;
                    }
                }
            }
        }
    }

    /** [chunkLength, window]: {@link #SELF_SCORE} on each query's own slot (chunksBefore · chunkLength + i), else 0. */
    float[] selfScores() {
        float[] out = new float[chunkLength * window];
        for (int i = 0; i < chunkLength; i++) {
            out[i * window + selfOffset + i] = SELF_SCORE;
        }
        return out;
    }

    /**
     * Stable counting sort of one round's positions by bucket, padded positions last: fills
     * {@code sorted} (then -1 up to its end) and {@code sortedBucket} with their hashed buckets.
     */
    private static void sort(int[] buckets, int bucketOffset, boolean[] padded, int paddedOffset, int length,
                             int numBuckets, int[] sorted, int[] sortedBucket) {
        int[] start = new int[numBuckets + 2];
        for (int n = 0; n < length; n++) {
            start[key(buckets, bucketOffset, padded, paddedOffset, n, numBuckets) + 1]++;
        }
        for (int k = 1; k < start.length; k++) {
            start[k] += start[k - 1];
        }
        for (int n = 0; n < length; n++) {
            int t = start[key(buckets, bucketOffset, padded, paddedOffset, n, numBuckets)]++;
            sorted[t] = n;
            sortedBucket[t] = buckets[bucketOffset + n];
        }
        Arrays.fill(sorted, length, sorted.length, -1);
        Arrays.fill(sortedBucket, length, sortedBucket.length, -1);
    }

    /** The sort key of position n: its bucket, or numBuckets when it is padded. */
    private static int key(int[] buckets, int bucketOffset, boolean[] padded, int paddedOffset, int n,
                           int numBuckets) {
        return padded != null && padded[paddedOffset + n] ? numBuckets : buckets[bucketOffset + n];
    }
}
