package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.Tensor;

/**
 * Attention with Linear Biases, ALiBi (Press et al., 2022, "Train Short, Test Long: Attention
 * with Linear Biases Enables Input Length Extrapolation"): no position vectors at all; each head h
 * adds to its score of query i for key j a penalty proportional to their distance,
 * <pre>
 *   causal:        bias[h, i, j] = -m_h · (i - j)
 *   bidirectional: bias[h, i, j] = -m_h · |i - j|
 * </pre>
 * with fixed slopes m_h (§3). For n heads, n a power of two, the slopes are the geometric sequence
 * that starts at 2^(-8/n) with that ratio: 2^(-8/n), 2^(-16/n), …, 2^(-8) (1/2, 1/4, …, 1/256 for 8
 * heads). For other n the paper takes the slopes of the closest lower power of two, 2^⌊log₂ n⌋, and
 * adds every other slope of the sequence for twice that power until there are n, as the official
 * implementation's {@code get_slopes} does.
 *
 * <p>The causal form is the paper's, for decoders: keys after the query are removed by the causal
 * mask, and the formula is kept there (a positive bias), so each row equals the official
 * implementation's {@code m_h · j} up to a per-row constant, which softmax ignores. It is the
 * default, and it is refused in a non-causal context (an encoder), where it would give every key
 * after the query a bonus growing with its distance: a multi-head layer with a non-causal context
 * gets an {@link IllegalArgumentException} naming {@code bidirectional=true}, the form for
 * encoders, which penalises distance in both directions (Press et al. leave encoders open; this is
 * the symmetric form used for bidirectional models such as MosaicBERT). On the keys a causal query
 * sees the two forms are equal. Nothing is learned, and the bias is defined for every distance, so
 * the encoding extrapolates to any length.
 *
 * <p>The values are computed on the host in double precision and rounded to float on the backend
 * that was the default when the encoding was {@linkplain #initialize initialised}, with the model
 * that owns it (the hook has no input tensor to follow); the bias of the last call is kept, so
 * the layers of one forward pass share it.
 */
@ComponentInfo(name = "alibi",
        summary = "Fixed per-head linear penalties on the query-key distance, added to the attention scores",
        reference = "Press et al., 2022, Train Short, Test Long: Attention with Linear Biases Enables Input "
                + "Length Extrapolation")
@PositionalCapabilities(attentionBias = true, learnable = false, extrapolates = true)
public final class AlibiPositionalBias implements PositionalEncoding {

    private static final String NAME = "alibi";

    @Config(description = "Penalise the distance in both directions, -slope·|query - key|, for encoders; "
            + "false is the paper's causal form -slope·(query - key), for decoders only (refused in a "
            + "non-causal context).")
    private boolean bidirectional = false;

    /** One slope per head; null before {@link #initialize}. */
    private double[] slopes;

    /** Where the model was built, and so where the bias goes; null before {@link #initialize}. */
    private ComputeBackend backend;

    /** The bias last handed out, reused while callers ask for the same window. */
    private volatile Bias cached;

    private record Bias(int queryLength, int keyLength, int queryOffset, Tensor values) {
    }

    /** For OLCUT. */
    private AlibiPositionalBias() {
    }

    /** The bidirectional form, for encoders, or the causal one, for decoders. */
    public AlibiPositionalBias(boolean bidirectional) {
        this.bidirectional = bidirectional;
        postConfig();
    }

    /** Computes the slopes for {@code heads}; {@code modelDim} and {@code rng} are not used. */
    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        this.slopes = slopes(RelativeBias.heads(NAME, heads));
        this.backend = Backends.defaultBackend();
        this.cached = null;
    }

    /**
     * The slopes of the paper for {@code heads} heads: those of the closest power of two at or
     * below it, then every other slope for twice that power.
     */
    static double[] slopes(int heads) {
        int power = Integer.highestOneBit(heads);
        double[] out = Arrays.copyOf(geometric(power), heads);
        double[] finer = geometric(2 * power);
        for (int h = power; h < heads; h++) {
            out[h] = finer[2 * (h - power)];
        }
        return out;
    }

    /** 2^(-8/n), 2^(-16/n), …, 2^(-8): n terms of ratio 2^(-8/n). */
    private static double[] geometric(int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.pow(2, -8.0 * (i + 1) / n);
        }
        return out;
    }

    /**
     * The bias for a context that is {@code causal} or not: {@link #attentionBias(int, int, int, int)}.
     *
     * @throws IllegalArgumentException for the causal form (the default) in a non-causal context,
     *                                  where it would reward the keys after each query
     */
    @Override
    public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset, boolean causal) {
        if (!causal && !bidirectional) {
            throw new IllegalArgumentException(NAME + ": the causal form -slope·(query - key) (bidirectional=false, "
                    + "the default, for decoders) gives each key after the query a bonus growing with its distance "
                    + "in a non-causal context; set " + NAME + ".bidirectional=true for an encoder, or make the "
                    + "attention causal");
        }
        return attentionBias(heads, queryLength, keyLength, queryOffset);
    }

    /** The bias [1, heads, queryLength, keyLength] for queries at queryOffset … and keys at 0 …, in the configured form. */
    @Override
    public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
        RelativeBias.check(NAME, slopes == null ? 0 : slopes.length, heads, queryLength, keyLength, queryOffset);
        Bias last = cached;
        if (last == null || last.queryLength != queryLength || last.keyLength != keyLength
                || last.queryOffset != queryOffset) {
            last = new Bias(queryLength, keyLength, queryOffset,
                    Tensor.of(backend, table(queryLength, keyLength, queryOffset), 1, heads, queryLength, keyLength));
            cached = last;
        }
        return last.values;
    }

    /** -m_h · (i - j) or -m_h · |i - j| for query position i = queryOffset + t and key j, row-major [H, Lq, Lk]. */
    private float[] table(int queryLength, int keyLength, int queryOffset) {
        float[] out = new float[slopes.length * queryLength * keyLength];
        for (int h = 0; h < slopes.length; h++) {
            for (int t = 0; t < queryLength; t++) {
                long query = (long) queryOffset + t;
                for (int j = 0; j < keyLength; j++) {
                    long distance = query - j;
                    out[(h * queryLength + t) * keyLength + j] =
                            (float) (-slopes[h] * (bidirectional ? Math.abs(distance) : distance));
                }
            }
        }
        return out;
    }

    /** A copy of the per-head slopes; null before {@link #initialize}. */
    public double[] slopes() {
        return slopes == null ? null : slopes.clone();
    }

    /** Whether the bias penalises distance in both directions. */
    public boolean bidirectional() {
        return bidirectional;
    }

    @Override
    public String toString() {
        return "AlibiPositionalBias(bidirectional=" + bidirectional + ", heads="
                + (slopes == null ? 0 : slopes.length) + ")";
    }
}
