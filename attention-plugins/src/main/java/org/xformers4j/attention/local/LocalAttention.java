package org.xformers4j.attention.local;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.BitSet;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.attention.internal.AttentionInputs;
import org.xformers4j.attention.exact.SoftmaxAttention;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionPattern;
import org.xformers4j.component.attention.PatternedAttention;
import org.xformers4j.component.attention.WeightedAttention;
import org.xformers4j.tensor.Tensor;

/**
 * Chunked local attention (Kitaev et al., 2020, "Reformer: The Efficient Transformer": the
 * chunking of its LSH attention, §2, where each chunk attends to itself and the chunk before,
 * applied to the positions in order, as in the local self-attention of its Trax implementation
 * and lucidrains' {@code local-attention}): the sequence is cut into chunks of
 * {@code chunkLength} positions and each query attends, with softmax attention, to the keys of
 * its own chunk, of the {@code lookBackward} chunks before it and of the {@code lookForward}
 * chunks after it. Keys beyond the ends of the sequence do not
 * exist, so the first and last chunks see fewer keys; a length that is not a multiple of
 * {@code chunkLength} leaves the last chunk short.
 *
 * <p>With a causal context a query also does not see the keys after its own position. The chunks
 * after a query's chunk then hold only such keys, so {@code lookForward} is ignored: skipping them
 * gives exactly what masking them would. Queries and keys are one sequence: cross-attention and
 * incremental decoding (fewer queries than keys) are not supported.
 *
 * <p>The key padding mask, an additive bias (of which only the entries inside the chunks are read,
 * and receive a gradient) and attention dropout apply as in {@link FullAttention}; a query whose
 * visible keys are all masked (padded, or biased by -∞) outputs zeros. The result equals full
 * attention with every key outside the query's chunk neighbourhood masked. Time and memory are
 * O(N·chunkLength·(1 + lookBackward + lookForward)): the scores are formed per chunk, never as an
 * N×N matrix. FLOPs ({@link SoftmaxAttention}) count those scores, S ≈ N·chunkLength·(1 +
 * lookBackward + lookForward) (lookForward 0 when causal): forward {@code 2·B·H·S·(D + Dv)},
 * backward twice that.
 */
@ComponentInfo(name = "local",
        summary = "Softmax attention within chunks of the sequence and their neighbouring chunks",
        reference = "Kitaev et al., 2020, Reformer: The Efficient Transformer")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = false, exact = false, exactWhen = "chunkLength=1000000",
        time = "O(N*chunkLength*(1+lookBackward+lookForward))",
        memory = "O(N*chunkLength*(1+lookBackward+lookForward))", linearMemory = true)
public final class LocalAttention extends SoftmaxAttention implements PatternedAttention, WeightedAttention {

    private static final String NAME = "local";

    @Config(description = "Positions per chunk; the last chunk is shorter when the length is not a multiple.")
    @Range(min = 1)
    private int chunkLength = 64;

    @Config(description = "Chunks before its own that a query attends to.")
    @Range(min = 0)
    private int lookBackward = 1;

    @Config(description = "Chunks after its own that a query attends to; ignored with a causal context, "
            + "where they hold only future keys.")
    @Range(min = 0)
    private int lookForward = 0;

    /** For OLCUT. */
    private LocalAttention() {
    }

    /**
     * Local attention over chunks of {@code chunkLength}, each query seeing its chunk,
     * {@code lookBackward} chunks before and {@code lookForward} after, scores scaled by
     * {@code scale} (1/sqrt(headDim) when 0).
     */
    public LocalAttention(int chunkLength, int lookBackward, int lookForward, float scale) {
        super(scale);
        this.chunkLength = chunkLength;
        this.lookBackward = lookBackward;
        this.lookForward = lookForward;
        postConfig();
    }

    public int chunkLength() {
        return chunkLength;
    }

    public int lookBackward() {
        return lookBackward;
    }

    public int lookForward() {
        return lookForward;
    }

    /** Memory slots would shift the chunk positions: not supported. */
    @Override
    protected boolean supports(Option option) {
        return option != Option.MEMORY_KEY_VALUES;
    }

    /** The chunked attention: q [B, H, L, D], k [B, H, L, D], v [B, H, L, Dv] → [B, H, L, Dv]. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        int length = query.size(2);
        checkLengths(length, key.size(2), ", got query " + AttentionInputs.shape(query) + " and key "
                + AttentionInputs.shape(key));
        float s = scoreScale(query.size(3));
        return chunks(length, context.causal()).attend(query, key, value, context, s);
    }

    /**
     * The chunks' neighbourhoods, the same for every head: with c = min(chunkLength, length), key
     * j is visible to query i of chunk m = i / c when {@code (m - lookBackward)·c <= j < (m + 1 +
     * lookForward)·c}, and with a causal context when also {@code j <= i} (lookForward ignored).
     */
    @Override
    public AttentionPattern pattern(int heads, int queryLength, int keyLength, AttentionContext context) {
        checkLengths(queryLength, keyLength, "");
        int chunk = Math.max(1, Math.min(chunkLength, queryLength));
        long backward = lookBackward;
        long forward = context.causal() ? 0 : lookForward;
        BitSet allowed = new BitSet(heads * queryLength * keyLength);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < queryLength; i++) {
                long first = (long) i / chunk * chunk;
                int from = (int) Math.max(0, first - backward * chunk);
                int to = (int) Math.min(context.causal() ? i + 1 : keyLength, first + (1 + forward) * chunk);
                int row = (h * queryLength + i) * keyLength;
                allowed.set(row + from, row + to);
            }
        }
        return new AttentionPattern(heads, queryLength, keyLength, allowed, null);
    }

    /** The weights of softmax attention within each query's chunk neighbourhood; see {@link #pattern}. */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /** Queries and keys one sequence; {@code inputs} ends the message. */
    private static void checkLengths(int queryLength, int keyLength, String inputs) {
        if (keyLength != queryLength) {
            throw new IllegalArgumentException(NAME + ": query length " + queryLength + " and key length " + keyLength
                    + " must be equal (local attention has no cross-attention)" + inputs);
        }
    }

    /** The chunks of a sequence of {@code length} positions and the keys each sees. */
    private Chunking chunks(int length, boolean causal) {
        // a chunk longer than the sequence, or neighbours beyond its ends, add only missing keys: clamp them
        int chunk = Math.max(1, Math.min(chunkLength, length));
        int last = (length - 1) / chunk;
        int backward = Math.min(lookBackward, last);
        int forward = causal ? 0 : Math.min(lookForward, last);
        // chunk m holds positions [m·c, (m+1)·c) and sees keys [(m - backward)·c, (m + 1 + forward)·c)
        return new Chunking(length, length, chunk, -backward * chunk, (1 + backward + forward) * chunk,
                Integer.MIN_VALUE, causal ? 0 : Integer.MAX_VALUE);
    }

    /** Each chunk's queries against the keys of its chunk and neighbours, masked ones included. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        return chunks(queryLength, causal).scores();
    }

    @Override
    public String toString() {
        return "LocalAttention(chunkLength=" + chunkLength + ", lookBackward=" + lookBackward + ", lookForward="
                + lookForward + ", scale=" + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
