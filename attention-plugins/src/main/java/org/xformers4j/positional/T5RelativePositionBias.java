package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Tensor;

/**
 * The relative position bias of T5 (Raffel et al., 2020, "Exploring the Limits of Transfer
 * Learning with a Unified Text-to-Text Transformer", §2.1): each head learns one scalar per
 * bucket of the relative position {@code key - query}, added to its attention scores,
 * <pre>
 *   bias[h, i, j] = weight[bucket(j - i), h]
 * </pre>
 * with the trainable table {@code weight} [numBuckets, heads].
 *
 * <p>The buckets are those of the reference implementation's {@code _relative_position_bucket}
 * (Mesh TensorFlow; Hugging Face {@code T5Attention}). Bidirectional, half the buckets serve keys
 * at or before the query and half keys after it; causal, every bucket serves keys at or before the
 * query and later keys share bucket 0. Within a direction of n buckets, distances below n/2 have a
 * bucket each, and a distance d from n/2 on falls in
 * <pre>
 *   n/2 + ⌊ln(d / (n/2)) / ln(maxDistance / (n/2)) · (n - n/2)⌋
 * </pre>
 * clamped to the direction's last bucket, so distances at and beyond {@code maxDistance} share it
 * and any length works.
 *
 * <p>{@link #initialize} creates the table with N(0, initStd²) entries and registers it as the
 * module's parameter {@code weight}; the bias is a gather of its rows, so gradients reach it.
 */
@ComponentInfo(name = "t5-bias",
        summary = "Learned scalar per head per logarithmic bucket of the key-query offset, added to the scores",
        reference = "Raffel et al., 2020, Exploring the Limits of Transfer Learning with a Unified Text-to-Text "
                + "Transformer")
@PositionalCapabilities(attentionBias = true, learnable = true, extrapolates = true)
public final class T5RelativePositionBias extends Module implements PositionalEncoding {

    private static final String NAME = "t5-bias";

    @Config(description = "Number of buckets of relative positions, each with a learned scalar per head; "
            + "split evenly between the two directions when bidirectional.")
    @Range(min = 2)
    private int numBuckets = 32;

    @Config(description = "Distance from which relative positions share a direction's last bucket.")
    @Range(min = 1)
    private int maxDistance = 128;

    @Config(description = "Separate buckets for keys after the query (encoders); false gives every bucket to "
            + "keys at or before it (decoders).")
    private boolean bidirectional = true;

    @Config(description = "Standard deviation of the normal initialisation of the table.")
    @Range(min = 0, maxInclusive = false)
    private float initStd = 0.02f;

    private int heads;
    private Tensor weight;

    /** For OLCUT. */
    private T5RelativePositionBias() {
    }

    /**
     * A bias with {@code numBuckets} buckets (32 in T5), logarithmic up to {@code maxDistance}
     * (128), both directions or keys before the query only, initialised N(0, initStd²).
     */
    public T5RelativePositionBias(int numBuckets, int maxDistance, boolean bidirectional, float initStd) {
        this.numBuckets = numBuckets;
        this.maxDistance = maxDistance;
        this.bidirectional = bidirectional;
        this.initStd = initStd;
        postConfig();
    }

    /**
     * Checks the ranges, then that each direction has at least one exact and one logarithmic
     * bucket and that {@code maxDistance} lies beyond the exact ones.
     */
    @Override
    public void postConfig() {
        PositionalEncoding.super.postConfig();
        if (bidirectional && (numBuckets % 2 != 0 || numBuckets < 4)) {
            throw new PropertyException(NAME, "numBuckets", NAME + ".numBuckets = " + numBuckets
                    + " must be even and at least 4 when bidirectional (half the buckets per direction)");
        }
        int exact = directionBuckets() / 2;
        if (maxDistance <= exact) {
            throw new PropertyException(NAME, "maxDistance", NAME + ".maxDistance = " + maxDistance
                    + " must exceed the " + exact + " exact buckets per direction of numBuckets = " + numBuckets
                    + (bidirectional ? " (bidirectional)" : ""));
        }
    }

    /** Buckets per direction: all of them, or half when bidirectional. */
    private int directionBuckets() {
        return bidirectional ? numBuckets / 2 : numBuckets;
    }

    /** Creates and registers the table [numBuckets, heads]; once only. */
    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        if (weight != null) {
            throw new IllegalStateException(NAME + ": already initialized with " + this.heads + " heads");
        }
        int h = RelativeBias.heads(NAME, heads);
        this.weight = registerParameter("weight", Init.normal(rng, 0f, initStd, numBuckets, h));
        this.heads = h;
    }

    /**
     * The bucket of the relative position {@code key - query}, in 0 … numBuckets - 1, as T5's
     * {@code _relative_position_bucket}.
     */
    public int bucket(int relativePosition) {
        int buckets = directionBuckets();
        int offset = 0;
        long distance;
        if (bidirectional) {
            if (relativePosition > 0) {
                offset = buckets;
            }
            distance = Math.abs((long) relativePosition);
        } else {
            distance = Math.max(-(long) relativePosition, 0);
        }
        int exact = buckets / 2;
        if (distance < exact) {
            return offset + (int) distance;
        }
        int large = exact + (int) (Math.log((double) distance / exact) / Math.log((double) maxDistance / exact)
                * (buckets - exact));
        return offset + Math.min(large, buckets - 1);
    }

    /** weight[bucket(j - (queryOffset + t)), h] as [1, heads, queryLength, keyLength]. */
    @Override
    public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
        RelativeBias.check(NAME, this.heads, heads, queryLength, keyLength, queryOffset);
        int first = RelativeBias.firstRelative(queryLength, queryOffset);
        int[] bucketOfRelative = new int[queryLength + keyLength - 1];
        for (int r = 0; r < bucketOfRelative.length; r++) {
            bucketOfRelative[r] = bucket(first + r);
        }
        int[] index = RelativeBias.relativeIndex(queryLength, keyLength);
        for (int e = 0; e < index.length; e++) {
            index[e] = bucketOfRelative[index[e]];
        }
        return RelativeBias.gather(weight, index, queryLength, keyLength);
    }

    /** The table [numBuckets, heads]; null before {@link #initialize}. */
    public Tensor weight() {
        return weight;
    }

    public int numBuckets() {
        return numBuckets;
    }

    public int maxDistance() {
        return maxDistance;
    }

    /** Whether keys after the query have buckets of their own. */
    public boolean bidirectional() {
        return bidirectional;
    }

    @Override
    public String toString() {
        return "T5RelativePositionBias(numBuckets=" + numBuckets + ", maxDistance=" + maxDistance
                + ", bidirectional=" + bidirectional + ", heads=" + heads + ")";
    }
}
