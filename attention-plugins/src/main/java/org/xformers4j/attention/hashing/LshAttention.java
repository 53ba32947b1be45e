package org.xformers4j.attention.hashing;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.attention.exact.SoftmaxAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Locality-sensitive-hashing attention from Reformer (Kitaev, Kaiser and Levskaya, 2020,
 * "Reformer: The Efficient Transformer", §2-3), following the details of lucidrains'
 * reformer-pytorch {@code LSHAttention}.
 *
 * <p><b>Shared query-key.</b> Queries and keys come from one projection
 * ({@link AttentionCapabilities#sharedQueryKey()}): {@link #forward} must be given the query tensor
 * itself as {@code key}, and rejects any other tensor. The queries hash and attend as given; the
 * keys are the same vectors L2-normalised, {@code k = x / sqrt(|x|² + 1e-12)}. Values are separate.
 *
 * <p><b>Hashing.</b> Every round r of {@code numHashes} hashes each position to one of
 * {@code numBuckets} buckets by a random rotation, {@code argmax([xRᵣ; -xRᵣ])} (optionally with a
 * factorised bucket count, {@code bucketFactors}); the rotations are drawn once from {@code seed},
 * so a layer hashes identically in every call ({@link LshHashing}).
 *
 * <p><b>Chunked attention.</b> Each round sorts the positions by (bucket, position), cuts the sorted
 * sequence into chunks of {@code chunkLength}, and lets each chunk's queries attend to the keys of
 * the chunk itself, {@code chunksBefore} chunks before it and {@code chunksAfter} after it, with
 * scores {@code q·k · scale} (1/sqrt(headDim) unless configured). As in reformer-pytorch's default, a query also attends to
 * keys of other buckets that share its chunks ({@code attendAcrossBuckets}). A query never attends
 * to its own key unless nothing else is visible: that score is set to -1e5 (finite, as in the
 * paper). Padded keys are masked and sorted last, so they change neither the scores nor the chunks
 * of the other positions (as queries they attend from the sorted tail by the same rules). A causal query sees only the keys of its own bucket among the
 * {@code chunksBefore · chunkLength} sorted positions before it: with the paper's chunk boundaries
 * the hash of a later position would decide which earlier keys a query sees ({@link LshChunks}).
 * A query that sees no key at all (its own key is padded, like every key it could see) outputs
 * zeros, as in {@link FullAttention}.
 *
 * <p><b>Rounds.</b> Round r gives each query an output oᵣ and the log-sum-exp ℓᵣ of its scores;
 * the rounds are merged by {@code o = Σᵣ exp(ℓᵣ - logsumexpᵣ ℓ) oᵣ} (paper, §2, "multi-round
 * LSH"), with tensor ops, so autograd provides the backward pass through the sort, the chunked
 * attention and the merge. A key seen in several rounds is not de-duplicated (reformer-pytorch's
 * default). With one bucket, one round and a chunk covering the sequence this is full attention
 * over the normalised keys with -1e5 on the diagonal, to float rounding.
 *
 * <p>Memory is O(N · numHashes · window) for window = (chunksBefore + 1 + chunksAfter) ·
 * chunkLength keys per query, never N²; the sort is a counting sort on the host, O(N) per round.
 * No cross-attention, no additive bias and no incremental decoding: the hashing needs every key
 * and the same projection for queries and keys.
 *
 * <p>It does not report its weights ({@link org.xformers4j.component.attention.WeightedAttention}):
 * they are sums over the rounds of weights within sorted, chunked buckets (a key seen in two rounds
 * counted twice), which only the hashing of that call determines; a dense reconstruction would
 * redo the hashing, sort and merge outside the forward, a second copy of it, so attention maps and
 * rollout refuse {@code lsh} by name.
 *
 * <p>FLOPs: the hashing, {@code 2·B·H·N·D·numHashes·Σ(bucket factors)/2} (one rotation per round,
 * forward only: the argmax passes no gradient), plus the chunked attention of every round
 * ({@link SoftmaxAttention}): S = numHashes·⌈N/c⌉·c·window scores for chunks of c positions and
 * windows of (chunksBefore + 1 + chunksAfter)·c keys, forward {@code 2·B·H·S·(D + Dv)}, backward
 * twice that. The merge of the rounds is elementwise and not counted.
 */
@ComponentInfo(name = "lsh",
        summary = "Reformer LSH attention: shared query-key, random-rotation hashing, chunked sorted buckets",
        reference = "Kitaev, Kaiser and Levskaya, 2020, Reformer: The Efficient Transformer")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = false,
        incrementalDecoding = false, exact = false, sharedQueryKey = true,
        exactWhen = {"numHashes=1", "numBuckets=1", "chunkLength=1000000"},
        time = "O(N·numHashes·chunkLength)", memory = "O(N·numHashes·chunkLength)", linearMemory = true)
public final class LshAttention extends SoftmaxAttention {

    private static final String NAME = "lsh";

    /** ε in the key normalisation x / sqrt(|x|² + ε). */
    private static final float NORM_EPS = 1e-12f;

    @Config(description = "Number of hashing rounds; their outputs are merged by log-sum-exp weights.")
    @Range(min = 1)
    private int numHashes = 2;

    @Config(description = "Number of buckets per round: 1 or even.")
    @Range(min = 1)
    private int numBuckets = 32;

    @Config(description = "Optional factorisation of numBuckets into even factors, e.g. 8x4 for 32: hashes with "
            + "rotations of 4 and 2 columns and combines the digits; empty hashes with numBuckets/2 columns.")
    private String bucketFactors = "";

    @Config(description = "Length of the chunks the sorted sequence is cut into.")
    @Range(min = 1)
    private int chunkLength = 64;

    @Config(description = "Chunks before its own that a chunk attends to.")
    @Range(min = 0)
    private int chunksBefore = 1;

    @Config(description = "Chunks after its own that a chunk attends to (ignored by causal attention).")
    @Range(min = 0)
    private int chunksAfter = 0;

    @Config(description = "Whether a query attends to keys of other buckets in its chunks (reformer-pytorch's "
            + "default); causal attention always keeps to its own bucket.")
    private boolean attendAcrossBuckets = true;

    @Config(description = "Seed of the random rotations, fixed per layer so that hashing is reproducible.")
    private long seed = 12345L;

    /** numBuckets as the product of the factors hashed separately; empty for one bucket. */
    private int[] factors;

    /** The rotations for the last head dimension seen; they depend only on it and the configuration. */
    private volatile LshHashing hashing;

    /** For OLCUT. */
    private LshAttention() {
    }

    /**
     * LSH attention with {@code numHashes} rounds of {@code numBuckets} buckets, chunks of
     * {@code chunkLength} attending to one chunk before, across buckets, hashing with {@code seed}.
     */
    public LshAttention(int numHashes, int numBuckets, int chunkLength, long seed) {
        this.numHashes = numHashes;
        this.numBuckets = numBuckets;
        this.chunkLength = chunkLength;
        this.seed = seed;
        postConfig();
    }

    @Override
    public void postConfig() {
        super.postConfig();
        if (numBuckets != 1 && numBuckets % 2 != 0) {
            throw new PropertyException(NAME, "numBuckets", NAME + ".numBuckets = " + numBuckets + " must be 1 or even");
        }
        factors = bucketFactors.isBlank() ? (numBuckets == 1 ? new int[0] : new int[] {numBuckets})
                : parseFactors(bucketFactors, numBuckets);
        hashing = null;
    }

    /** "8x4" → {8, 4}: even factors whose product is numBuckets. */
    private static int[] parseFactors(String text, int numBuckets) {
        String[] parts = text.trim().split("\\s*[xX*]\\s*");
        int[] out = new int[parts.length];
        long product = 1;
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new PropertyException(NAME, "bucketFactors", NAME + ".bucketFactors = " + text
                        + " is not a product of integers like 8x4");
            }
            if (out[i] < 2 || out[i] % 2 != 0) {
                throw new PropertyException(NAME, "bucketFactors", NAME + ".bucketFactors = " + text + ": factor "
                        + out[i] + " must be even and >= 2");
            }
            product *= out[i];
        }
        if (product != numBuckets) {
            throw new PropertyException(NAME, "bucketFactors", NAME + ".bucketFactors = " + text + " multiplies to "
                    + product + ", not " + NAME + ".numBuckets = " + numBuckets);
        }
        return out;
    }

    public int numHashes() {
        return numHashes;
    }

    public int numBuckets() {
        return numBuckets;
    }

    /** The factors numBuckets is hashed with (one factor when not factorised, none for one bucket). */
    public int[] bucketFactors() {
        return factors.clone();
    }

    public int chunkLength() {
        return chunkLength;
    }

    public int chunksBefore() {
        return chunksBefore;
    }

    public int chunksAfter() {
        return chunksAfter;
    }

    public boolean attendAcrossBuckets() {
        return attendAcrossBuckets;
    }

    public long seed() {
        return seed;
    }

    /**
     * LSH attention of {@code query} over itself as keys.
     *
     * @param query [batch, heads, length, headDim]
     * @param key   the same tensor as {@code query} (shared query-key projection)
     * @param value [batch, heads, length, valueDim]
     * @return [batch, heads, length, valueDim]
     */
    /** Keys are the normalised queries of one shared projection: no grouped heads, query-key norm or memory slots. */
    @Override
    protected boolean supports(Option option) {
        return false;
    }

    /** The mechanism: checks its inputs, then hashes, sorts, attends in chunks and merges the rounds. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        checkInputs(query, key, value, context);
        int batch = query.size(0);
        int heads = query.size(1);
        int length = query.size(2);
        int headDim = query.size(3);
        int valueDim = value.size(3);
        int rows = batch * heads * length;
        LshChunks chunks = new LshChunks(this, hashing(headDim).buckets(query), padded(context, batch, length),
                batch, heads, length, context.causal());
        int chunkCount = batch * heads * numHashes * chunks.count;
        int slots = chunkCount * chunks.chunkLength;

        // sorted queries [chunks, chunkLength, D], pre-scaled; keys and values of each chunk's window
        Tensor q = query.mul(scoreScale(headDim)).reshape(rows, headDim)
                .indexSelect(0, chunks.queryRows).reshape(chunkCount, chunks.chunkLength, headDim);
        Tensor unitKeys = key.mul(key.mul(key).sum(-1, true).add(NORM_EPS).rsqrt());
        Tensor k = unitKeys.reshape(rows, headDim).indexSelect(0, chunks.keyRows)
                .reshape(chunkCount, chunks.window, headDim);
        Tensor v = value.reshape(rows, valueDim).indexSelect(0, chunks.keyRows)
                .reshape(chunkCount, chunks.window, valueDim);

        // scores [chunks, chunkLength, window] with the key, self, bucket and causal masks
        Tensor scores = q.matmul(k, false, true)
                .add(Tensor.of(query.backend(), chunks.keyBias, chunkCount, 1, chunks.window))
                .add(Tensor.of(query.backend(), chunks.selfScores(), chunks.chunkLength, chunks.window));
        if (chunks.pairMask != null) {
            scores = scores.maskedFill(Tensor.of(query.backend(), chunks.pairMask, chunkCount, chunks.chunkLength,
                    chunks.window), LshChunks.MASKED);
        }
        Tensor logSumExp = scores.logsumexp(-1, true);
        Tensor weights = scores.softmax(-1);
        if (context.dropout() > 0f) {
            weights = Functional.dropout(weights, context.dropout(), true, context.rng());
        }
        // a query that sees no key has a row of -∞: zero weights, so zero output
        Tensor out = weights.matmul(v);

        // back to positions: o [B, H, rounds, N, Dv], ℓ [B, H, rounds, N, 1]; merge the rounds
        Tensor perRound = out.reshape(slots, valueDim).indexSelect(0, chunks.unsortRows)
                .reshape(batch, heads, numHashes, length, valueDim);
        Tensor roundWeights = logSumExp.reshape(slots, 1).indexSelect(0, chunks.unsortRows)
                .reshape(batch, heads, numHashes, length, 1).softmax(2);
        return perRound.mul(roundWeights).sum(2, false);
    }

    /** Every round's chunks against their windows, masked slots included. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        int c = LshChunks.chunkLength(this, queryLength);
        double chunks = (queryLength + c - 1) / c;
        return numHashes * chunks * c * LshChunks.window(this, c);
    }

    /** The chunked attention and the hashing rotations. */
    @Override
    public double forwardFlops(Shape shape) {
        return super.forwardFlops(shape) + 2 * shape.batchHeads() * shape.queryLength() * shape.headDim() * numHashes
                * LshHashing.columns(factors);
    }

    /** Twice the chunked attention's forward: the hashing passes no gradient. */
    @Override
    public double backwardFlops(Shape shape) {
        return 2 * super.forwardFlops(shape);
    }

    private LshHashing hashing(int headDim) {
        LshHashing h = hashing;
        if (h == null || h.headDim() != headDim) {
            h = new LshHashing(headDim, numHashes, factors, seed);
            hashing = h;
        }
        return h;
    }

    /** The key padding mask as [batch·length] booleans, or null. */
    private static boolean[] padded(AttentionContext context, int batch, int length) {
        if (context.keyPaddingMask() == null) {
            return null;
        }
        float[] mask = context.keyPaddingMask().toFloatArray();
        boolean[] out = new boolean[batch * length];
        for (int i = 0; i < out.length; i++) {
            out[i] = mask[i] != 0f;
        }
        return out;
    }

    /** The common shape checks, then what LSH adds: the keys are the queries, and no bias. */
    private static void checkInputs(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        if (key != query) {
            throw new IllegalArgumentException(NAME + ": queries and keys are shared (sharedQueryKey), so key must be "
                    + "the query tensor itself; got a different tensor, key " + AttentionInputs.shape(key)
                    + ", query " + AttentionInputs.shape(query));
        }
        if (context.bias() != null) {
            throw new IllegalArgumentException(NAME + ": no additive bias is supported, got bias "
                    + AttentionInputs.shape(context.bias()));
        }
    }

    @Override
    public String toString() {
        return "LshAttention(numHashes=" + numHashes + ", numBuckets=" + numBuckets
                + (bucketFactors.isBlank() ? "" : ", bucketFactors=" + bucketFactors) + ", chunkLength=" + chunkLength
                + ", chunksBefore=" + chunksBefore + ", chunksAfter=" + chunksAfter + ", attendAcrossBuckets="
                + attendAcrossBuckets + ", seed=" + seed + ")";
    }
}
