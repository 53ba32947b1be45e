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
 * Sliding-window attention (Beltagy et al., 2020, "Longformer: The Long-Document Transformer",
 * §3.1; Jiang et al., 2023, "Mistral 7B", §2): each query attends, with softmax attention, only to
 * the keys within {@code window} positions of its own: {@code |i - j| <= window} (a window of
 * 2·window + 1 keys), or with a causal context the {@code window} keys before it and itself,
 * {@code i - window <= j <= i}.
 *
 * <p>With a causal context there may be fewer queries than keys (incremental decoding with a key
 * and value cache): queries are end-aligned as in {@link AttentionContext}, query i sitting at key
 * position {@code keyLength - queryLength + i}, and only the last {@code queryLength + window} keys
 * are read. Otherwise queries and keys must have the same length.
 *
 * <p>Computed blocked: the queries are cut into blocks of {@code window} positions and each block
 * attends to the keys from {@code window} before its first query to {@code window} after its last
 * (to its last with a causal context), with an exact band mask, so exactly the keys in each
 * query's window contribute. Time and memory are O(N·window), never N². The key padding mask, an
 * additive bias (only its band is read, and receives a gradient) and attention dropout apply as
 * in {@link FullAttention}; a query whose visible keys are all masked (padded, or biased by -∞)
 * outputs zeros. The result equals full attention with the keys outside the window masked, and
 * full attention itself when the window covers the sequence. FLOPs ({@link SoftmaxAttention})
 * count every score of the blocks, about 3·N·window (2·N·window causal): forward
 * {@code 2·B·H·S·(D + Dv)}, backward twice that.
 */
@ComponentInfo(name = "sliding-window",
        summary = "Softmax attention over the keys within a fixed window of positions around (or before) each query",
        reference = "Beltagy et al., 2020, Longformer: The Long-Document Transformer; "
                + "Jiang et al., 2023, Mistral 7B")
@AttentionCapabilities(causal = true, crossAttention = false, keyPaddingMask = true, additiveBias = true,
        incrementalDecoding = true, exact = false, exactWhen = "window=1000000", time = "O(N*window)",
        memory = "O(N*window)", linearMemory = true)
public final class SlidingWindowAttention extends SoftmaxAttention implements PatternedAttention, WeightedAttention {

    private static final String NAME = "sliding-window";

    @Config(description = "Positions a query sees on each side (only before it with a causal context), "
            + "besides its own.")
    @Range(min = 1)
    private int window = 256;

    /** For OLCUT. */
    private SlidingWindowAttention() {
    }

    /**
     * Attention over the keys within {@code window} positions of each query, scores scaled by
     * {@code scale} (1/sqrt(headDim) when 0).
     */
    public SlidingWindowAttention(int window, float scale) {
        super(scale);
        this.window = window;
        postConfig();
    }

    public int window() {
        return window;
    }

    /** Memory slots would shift the window positions: not supported. */
    @Override
    protected boolean supports(Option option) {
        return option != Option.MEMORY_KEY_VALUES;
    }

    /** The windowed attention: q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] → [B, H, Lq, Dv]. */
    @Override
    protected Tensor attend(Tensor query, Tensor key, Tensor value, AttentionContext context) {
        AttentionInputs.check(NAME, query, key, value, context);
        int queryLength = query.size(2);
        int keyLength = key.size(2);
        checkLengths(queryLength, keyLength, context.causal(), " query " + AttentionInputs.shape(query) + " and key "
                + AttentionInputs.shape(key));
        float s = scoreScale(query.size(3));
        return blocks(queryLength, keyLength, context.causal()).attend(query, key, value, context, s);
    }

    /**
     * The window of every query, the same for every head: key j is visible to query i, at key
     * position p = keyLength - queryLength + i, when {@code p - window <= j <= p + window} ({@code
     * j <= p} with a causal context).
     */
    @Override
    public AttentionPattern pattern(int heads, int queryLength, int keyLength, AttentionContext context) {
        checkLengths(queryLength, keyLength, context.causal(), "");
        int reach = Math.min(window, keyLength);                   // no key is farther than keyLength - 1
        int after = context.causal() ? 0 : reach;
        BitSet allowed = new BitSet(heads * queryLength * keyLength);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < queryLength; i++) {
                int position = keyLength - queryLength + i;
                int row = (h * queryLength + i) * keyLength;
                allowed.set(row + Math.max(0, position - reach), row + Math.min(keyLength, position + after + 1));
            }
        }
        return new AttentionPattern(heads, queryLength, keyLength, allowed, null);
    }

    /** The weights of softmax attention within each query's window; see {@link #pattern}. */
    @Override
    public Tensor attentionWeights(Tensor query, Tensor key, AttentionContext context) {
        return softmaxWeights(query, key, context);
    }

    /** Equal lengths, or a causal context with fewer queries than keys; {@code inputs} ends the message. */
    private static void checkLengths(int queryLength, int keyLength, boolean causal, String inputs) {
        if (queryLength != keyLength && !(causal && queryLength < keyLength)) {
            throw new IllegalArgumentException(NAME + ": query length " + queryLength + " and key length " + keyLength
                    + " must be equal unless the context is causal with fewer queries than keys (incremental "
                    + "decoding)" + (inputs.isEmpty() ? "" : ", got" + inputs) + (causal ? "" : " without a causal context"));
        }
    }

    /** The blocks of queries and their windows of keys for these lengths. */
    private Chunking blocks(int queryLength, int keyLength, boolean causal) {
        // every key lies within keyLength - 1 positions of every query: a longer window changes nothing
        // (and clamped to keyLength, a covering window makes one block of all the queries)
        int w = Math.min(window, Math.max(keyLength, 1));
        int block = Math.max(1, Math.min(w, queryLength));
        int after = causal ? 0 : w;
        // a block of c queries sees keys from w before its first to w after its last (to its last if causal)
        return new Chunking(queryLength, keyLength, block, -w, block + w + after, -w, after);
    }

    /** Each block of window queries against its 3·window keys (2·window when causal), clipped to the keys. */
    @Override
    protected double scores(int queryLength, int keyLength, boolean causal) {
        return blocks(queryLength, keyLength, causal).scores();
    }

    @Override
    public String toString() {
        return "SlidingWindowAttention(window=" + window + ", scale=" + (scale() == 0f ? "1/sqrt(headDim)" : scale()) + ")";
    }
}
