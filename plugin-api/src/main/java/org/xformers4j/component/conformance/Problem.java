package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionContext.Grid;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * One small attention problem, held on the host in float32: random queries, keys and values and
 * the context features a check asks for. Sizes are fixed and small so that the whole suite runs in
 * seconds: batch 2, 2 heads, 8 positions (5 queries over 8 keys for cross-attention), head size 4,
 * value size 3 (different from the head size, which the interface allows).
 *
 * <p>The padding mask pads the last {@value #PADDED} keys of batch element 1 and nothing of batch
 * element 0, so every query keeps a key (also under a causal mask); {@link #withPaddedKeys} pads
 * more of them, all for fully masked rows. With a shared query-key projection the keys are the
 * queries, as the multi-head layer passes them.
 */
final class Problem {

    static final int BATCH = 2;
    static final int HEADS = 2;
    static final int LENGTH = 8;
    static final int CROSS_QUERY_LENGTH = 5;
    static final int HEAD_DIM = 4;
    static final int VALUE_DIM = 3;
    static final int PADDED = 3;
    /** Seed of the output-gradient weights of {@link #backward}. */
    private static final long OUTPUT_GRADIENT_SEED = 777L;

    /** The context features of a problem; {@code cross} means fewer queries than keys. */
    record Features(boolean causal, boolean padded, boolean bias, boolean cross) {

        static final Features PLAIN = new Features(false, false, false, false);

        /**
         * Every feature the capabilities declare together; fewer queries than keys only when
         * {@code cross} is asked for and the mechanism supports cross-attention.
         */
        static Features all(AttentionCapabilities c, boolean cross) {
            return new Features(c.causal(), c.keyPaddingMask(), c.additiveBias(),
                    cross && c.crossAttention() && !c.sharedQueryKey());
        }

        /** Plain, then each declared feature alone, then all of them together (when more than one). */
        static List<Features> variants(AttentionCapabilities c) {
            Features all = all(c, true);
            List<Features> out = new ArrayList<>(List.of(PLAIN));
            if (all.causal()) {
                out.add(new Features(true, false, false, false));
            }
            if (all.padded()) {
                out.add(new Features(false, true, false, false));
            }
            if (all.bias()) {
                out.add(new Features(false, false, true, false));
            }
            if (all.cross()) {
                out.add(new Features(false, false, false, true));
            }
            if (out.size() > 2) {
                out.add(all);
            }
            return out;
        }

        /** A short name: {@code plain}, or the features joined by '+'. */
        String label() {
            String s = (causal ? "+causal" : "") + (padded ? "+padded" : "") + (bias ? "+bias" : "")
                    + (cross ? "+cross" : "");
            return s.isEmpty() ? "plain" : s.substring(1);
        }
    }

    final Features features;
    final boolean sharedQueryKey;
    final int queryLength;
    final int keyLength = LENGTH;
    final float[] query;
    /** Null with a shared query-key projection: the keys are the queries. */
    final float[] key;
    final float[] value;
    /** [batch, heads, queryLength, keyLength], or null. */
    final float[] bias;
    /** How many trailing keys of batch element 1 the padding mask pads (with the padded feature). */
    final int paddedKeys;
    /** The 2-D layout of the tokens, for a mechanism that requires one ({@link #grid(AttentionCapabilities, int)}); null otherwise. */
    final Grid grid;

    private Problem(Features features, boolean sharedQueryKey, float[] query, float[] key, float[] value,
                    float[] bias, int paddedKeys, Grid grid) {
        this.features = features;
        this.grid = grid;
        this.paddedKeys = paddedKeys;
        this.sharedQueryKey = sharedQueryKey;
        this.queryLength = features.cross() ? CROSS_QUERY_LENGTH : LENGTH;
        this.query = query;
        this.key = key;
        this.value = value;
        this.bias = bias;
    }

    /**
     * The grid a mechanism with these capabilities gets over {@code length} tokens: none unless it
     * {@link AttentionCapabilities#gridRequired() requires one}, else {@link Grid#covering all the
     * tokens} (2 × 4 for 8, 32 × 32 for 1024).
     */
    static Grid grid(AttentionCapabilities capabilities, int length) {
        return capabilities.gridRequired() ? Grid.covering(length) : null;
    }

    /**
     * A problem with standard-normal inputs drawn from {@code seed}, for a mechanism with these
     * capabilities (the keys are the queries with a shared query-key projection; a grid when it
     * requires one).
     */
    static Problem random(Features features, AttentionCapabilities capabilities, long seed) {
        boolean sharedQueryKey = capabilities.sharedQueryKey();
        if (sharedQueryKey && features.cross()) {
            throw new IllegalArgumentException("a shared query-key projection has as many keys as queries");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int queryLength = features.cross() ? CROSS_QUERY_LENGTH : LENGTH;
        return new Problem(features, sharedQueryKey,
                normal(rng, BATCH * HEADS * queryLength * HEAD_DIM),
                sharedQueryKey ? null : normal(rng, BATCH * HEADS * LENGTH * HEAD_DIM),
                normal(rng, BATCH * HEADS * LENGTH * VALUE_DIM),
                features.bias() ? normal(rng, BATCH * HEADS * queryLength * LENGTH) : null, PADDED,
                features.cross() ? null : grid(capabilities, LENGTH));
    }

    /** This problem with the last {@code keys} keys of batch element 1 padded (all of them for fully masked rows). */
    Problem withPaddedKeys(int keys) {
        if (!features.padded() || keys < 0 || keys > keyLength) {
            throw new IllegalArgumentException("cannot pad " + keys + " of " + keyLength + " keys under "
                    + features.label());
        }
        return new Problem(features, sharedQueryKey, query, key, value, bias, keys, grid);
    }

    /** This problem with its queries and keys multiplied by {@code factor}. */
    Problem withQueriesAndKeysScaled(float factor) {
        return new Problem(features, sharedQueryKey, scaled(query, factor), key == null ? null : scaled(key, factor),
                value, bias, paddedKeys, grid);
    }

    private static float[] scaled(float[] x, float factor) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * factor;
        }
        return out;
    }

    /** This problem with {@code newBias} [batch, heads, queryLength, keyLength] as its bias. */
    Problem withBias(float[] newBias) {
        if (!features.bias() || newBias.length != bias.length) {
            throw new IllegalArgumentException("a bias of " + newBias.length + " values does not fit "
                    + features.label());
        }
        return new Problem(features, sharedQueryKey, query, key, value, newBias, paddedKeys, grid);
    }

    /**
     * This problem with new random inputs at key position {@code position} of batch element
     * {@code batch} in every head: key and value, and with {@code alsoQuery} (for self-attention) the
     * query of the same token. With a shared projection the query is the key, so it always changes.
     */
    Problem withKeyChanged(int batch, int position, boolean alsoQuery, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] q = query.clone();
        float[] k = key == null ? null : key.clone();
        float[] v = value.clone();
        for (int h = 0; h < HEADS; h++) {
            if (alsoQuery && queryLength == keyLength) {
                fill(rng, q, ((batch * HEADS + h) * queryLength + position) * HEAD_DIM, HEAD_DIM);
            }
            if (k != null) {
                fill(rng, k, ((batch * HEADS + h) * keyLength + position) * HEAD_DIM, HEAD_DIM);
            }
            fill(rng, v, ((batch * HEADS + h) * keyLength + position) * VALUE_DIM, VALUE_DIM);
        }
        return new Problem(features, sharedQueryKey, q, k, v, bias, paddedKeys, grid);
    }

    /** Whether the key at {@code position} of batch element {@code batch} is padding. */
    boolean padded(int batch, int position) {
        return features.padded() && batch == 1 && position >= keyLength - paddedKeys;
    }

    /**
     * Whether query {@code query} of batch element {@code batch} may see key {@code key}: it is not
     * padded and, with a causal context, not after the query's position
     * {@code keyLength - queryLength + query} (queries aligned to the end of the keys).
     */
    boolean visible(int batch, int query, int key) {
        return !padded(batch, key) && !(features.causal() && key > keyLength - queryLength + query);
    }

    /** Index of bias element (batch, head, query, key) in [batch, heads, queryLength, keyLength]. */
    int biasIndex(int batch, int head, int query, int key) {
        return ((batch * HEADS + head) * queryLength + query) * keyLength + key;
    }

    int[] queryShape() {
        return new int[] {BATCH, HEADS, queryLength, HEAD_DIM};
    }

    int[] keyShape() {
        return new int[] {BATCH, HEADS, keyLength, HEAD_DIM};
    }

    int[] valueShape() {
        return new int[] {BATCH, HEADS, keyLength, VALUE_DIM};
    }

    int[] biasShape() {
        return new int[] {BATCH, HEADS, queryLength, keyLength};
    }

    /** The context of the features, with {@code biasTensor} as the bias when the features have one. */
    AttentionContext context(Tensor biasTensor) {
        return context(biasTensor, 0f, null);
    }

    /** The context of the features with attention dropout {@code p} drawn from {@code rng}. */
    AttentionContext context(Tensor biasTensor, float dropout, RandomGenerator rng) {
        AttentionContext.Builder b = AttentionContext.builder().causal(features.causal()).bias(biasTensor)
                .dropout(dropout, rng).grid(grid);
        if (features.padded()) {
            float[] mask = new float[BATCH * keyLength];
            for (int i = 0; i < BATCH; i++) {
                for (int j = 0; j < keyLength; j++) {
                    mask[i * keyLength + j] = padded(i, j) ? 1f : 0f;
                }
            }
            b.keyPaddingMask(Tensor.of(mask, BATCH, keyLength));
        }
        return b.build();
    }

    /** The mechanism's output on this problem [batch, heads, queryLength, valueDim], without recording a graph. */
    float[] forward(AttentionMechanism mechanism) {
        return forward(mechanism, 0f, null);
    }

    /** {@link #forward(AttentionMechanism)} with attention dropout {@code p} drawn from {@code rng}. */
    float[] forward(AttentionMechanism mechanism, float dropout, RandomGenerator rng) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor q = Tensor.of(query, queryShape());
            Tensor k = key == null ? q : Tensor.of(key, keyShape());
            Tensor b = bias == null ? null : Tensor.of(bias, biasShape());
            return mechanism.forward(q, k, Tensor.of(value, valueShape()), context(b, dropout, rng)).toFloatArray();
        }
    }

    /**
     * The mechanism's output and the gradients of {@code Σ w · output} for fixed weights w drawn
     * uniformly from [-1, 1), each [batch, heads, ...] like its input; {@code key} is null with a
     * shared query-key projection (the query's gradient then holds both), {@code bias} without a bias.
     */
    record Backward(float[] output, float[] query, float[] key, float[] value, float[] bias) {

        /** What is not finite, e.g. {@code "gradient of value element 7 is NaN"}, or null when everything is. */
        String nonFinite() {
            String[] names = {"output", "gradient of query", "gradient of key", "gradient of value",
                    "gradient of bias"};
            float[][] arrays = {output, query, key, value, bias};
            for (int a = 0; a < arrays.length; a++) {
                int e = arrays[a] == null ? -1 : Values.firstNonFinite(arrays[a], false);
                if (e >= 0) {
                    return names[a] + " element " + e + " is " + arrays[a][e];
                }
            }
            return null;
        }
    }

    /** Runs the mechanism forward and backward on this problem; see {@link Backward}. */
    Backward backward(AttentionMechanism mechanism) {
        Tensor q = Tensor.of(query, queryShape()).requiresGrad(true);
        Tensor k = key == null ? q : Tensor.of(key, keyShape()).requiresGrad(true);
        Tensor v = Tensor.of(value, valueShape()).requiresGrad(true);
        Tensor b = bias == null ? null : Tensor.of(bias, biasShape()).requiresGrad(true);
        Tensor out = mechanism.forward(q, k, v, context(b));
        SplittableRandom rng = new SplittableRandom(OUTPUT_GRADIENT_SEED);
        float[] weights = new float[out.numel()];
        for (int e = 0; e < weights.length; e++) {
            weights[e] = (float) rng.nextDouble(-1, 1);
        }
        out.backward(Tensor.of(weights, out.shape()));
        return new Backward(out.toFloatArray(), gradient(q), key == null ? null : gradient(k), gradient(v),
                b == null ? null : gradient(b));
    }

    /** The gradient of a leaf after backward; zeros when nothing reached it. */
    private static float[] gradient(Tensor leaf) {
        return leaf.grad() == null ? new float[leaf.numel()] : leaf.grad().toFloatArray();
    }

    /** The float64 reference output of this problem; see {@link ReferenceAttention}. */
    double[] reference() {
        return ReferenceAttention.forward(this, toDouble(query), key == null ? null : toDouble(key), toDouble(value),
                bias == null ? null : toDouble(bias));
    }

    /**
     * The float64 reference output of this problem restricted to the pairs {@code pattern} allows,
     * with its bias; see {@link ReferenceAttention#forward(Problem, double[], double[], double[],
     * double[], boolean, org.xformers4j.component.attention.AttentionPattern)}.
     */
    double[] reference(org.xformers4j.component.attention.AttentionPattern pattern) {
        return ReferenceAttention.forward(this, toDouble(query), key == null ? null : toDouble(key), toDouble(value),
                bias == null ? null : toDouble(bias), false, pattern);
    }

    /** The float64 kernel-attention reference output of this problem under {@code map}; see {@link KernelReference}. */
    double[] kernelReference(org.xformers4j.component.attention.KernelFeatureMap map) {
        return KernelReference.forward(this, map, toDouble(query), key == null ? null : toDouble(key), toDouble(value));
    }

    /**
     * The float64 reference output with every score rounded to float32 after the bias is added,
     * as the mechanisms form them: next to a bias of -1e9 a query-key term below 32 vanishes; see
     * {@link ReferenceAttention#forward(Problem, double[], double[], double[], double[], boolean)}.
     */
    double[] referenceOfFloat32Scores() {
        return ReferenceAttention.forward(this, toDouble(query), key == null ? null : toDouble(key), toDouble(value),
                bias == null ? null : toDouble(bias), true);
    }

    /** Which output rows a comparison covers: (batch element, query position). */
    @FunctionalInterface
    interface Rows {
        boolean includes(int batch, int position);
    }

    /** The largest |a - b| over the output rows {@code rows} selects; a and b are [batch, heads, queryLength, valueDim]. */
    double maxDifference(float[] a, float[] b, Rows rows) {
        double max = 0;
        for (int e = 0; e < a.length; e++) {
            int row = e / VALUE_DIM;
            if (rows.includes(row / (queryLength * HEADS), row % queryLength)) {
                double d = Math.abs((double) a[e] - b[e]);
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
            }
        }
        return max;
    }

    static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static float[] normal(SplittableRandom rng, int n) {
        float[] out = new float[n];
        fill(rng, out, 0, n);
        return out;
    }

    private static void fill(SplittableRandom rng, float[] target, int offset, int n) {
        for (int i = 0; i < n; i++) {
            // Box-Muller from two uniforms: standard normal
            double u = 1 - rng.nextDouble();
            target[offset + i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble()));
        }
    }
}
