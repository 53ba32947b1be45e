package org.xformers4j.component.attention;

import java.util.BitSet;

/**
 * Which (query, key) pairs of each head a {@link PatternedAttention} compares, and the bias it adds
 * to their scores (a learned relative-position table, as Swin's), densely: pair (h, i, j) is bit
 * {@code (h · queryLength + i) · keyLength + j}.
 *
 * @param heads       number of query heads
 * @param queryLength number of queries
 * @param keyLength   number of keys
 * @param allowed     the visible pairs, [heads, queryLength, keyLength] row-major
 * @param bias        the additive bias of each pair, [heads, queryLength, keyLength], or null for none
 */
public record AttentionPattern(int heads, int queryLength, int keyLength, BitSet allowed, float[] bias) {

    /** Checks the sizes; the bit set and the bias are not copied. */
    public AttentionPattern {
        if (heads < 1 || queryLength < 1 || keyLength < 1) {
            throw new IllegalArgumentException("a pattern needs at least one head, query and key, got "
                    + heads + " × " + queryLength + " × " + keyLength);
        }
        long pairs = (long) heads * queryLength * keyLength;
        if (pairs > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a dense pattern of " + pairs + " pairs is too large");
        }
        if (allowed == null || allowed.length() > pairs) {
            throw new IllegalArgumentException("the allowed pairs must be a bit set within " + pairs + " bits");
        }
        if (bias != null && bias.length != pairs) {
            throw new IllegalArgumentException("the bias has " + bias.length + " values for " + pairs + " pairs");
        }
    }

    /** Whether query {@code i} of head {@code h} may see key {@code j}. */
    public boolean allows(int h, int i, int j) {
        return allowed.get(index(h, i, j));
    }

    /** The bias the mechanism adds to the score of (h, i, j); 0 without a bias. */
    public float bias(int h, int i, int j) {
        return bias == null ? 0f : bias[index(h, i, j)];
    }

    /** The fraction of all pairs that are visible. */
    public double density() {
        return allowed.cardinality() / ((double) heads * queryLength * keyLength);
    }

    private int index(int h, int i, int j) {
        if (h < 0 || h >= heads || i < 0 || i >= queryLength || j < 0 || j >= keyLength) {
            throw new IndexOutOfBoundsException("pair (" + h + ", " + i + ", " + j + ") outside "
                    + heads + " × " + queryLength + " × " + keyLength);
        }
        return (h * queryLength + i) * keyLength + j;
    }
}
