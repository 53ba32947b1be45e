package org.xformers4j.attention.hashing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttention;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class LshAttentionTest {

    private static final LshAttentionProvider PROVIDER = new LshAttentionProvider();

    /** An lsh instance from string options, as the registry creates it: "numBuckets", "4", …. */
    private static LshAttention lsh(String... options) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            map.put(options[i], options[i + 1]);
        }
        return PROVIDER.create(map);
    }

    /** [batch, length] mask tensor of the padded positions of each batch row (or null). */
    private static Tensor paddingMask(boolean[][] padded) {
        if (padded == null) {
            return null;
        }
        int length = padded[0].length;
        float[] mask = new float[padded.length * length];
        for (int b = 0; b < padded.length; b++) {
            for (int n = 0; n < length; n++) {
                mask[b * length + n] = padded[b][n] ? 1f : 0f;
            }
        }
        return Tensor.of(mask, padded.length, length);
    }

    private static AttentionContext context(boolean causal, boolean[][] padded) {
        return AttentionContext.builder().causal(causal).keyPaddingMask(paddingMask(padded)).build();
    }

    /** Padding in batch row 0 only, at {@code positions}. */
    private static boolean[][] padRowZero(int batch, int length, int... positions) {
        boolean[][] padded = new boolean[batch][length];
        for (int p : positions) {
            padded[0][p] = true;
        }
        return padded;
    }

    // ------------------------------------------------------------ one bucket, one round = full attention

    /**
     * Full attention over (q, q/|q|, v) with -1e5 added on the diagonal: what lsh computes with one
     * bucket, one round and a chunk window covering the sequence.
     */
    private static Tensor sharedQueryKeyFull(Tensor q, Tensor v, boolean causal, boolean[][] padded) {
        int length = q.size(2);
        float[] diagonal = new float[length * length];
        for (int i = 0; i < length; i++) {
            diagonal[i * length + i] = -1e5f;
        }
        Tensor unitKeys = q.mul(q.mul(q).sum(-1, true).add(1e-12f).rsqrt());
        AttentionContext c = AttentionContext.builder().causal(causal).keyPaddingMask(paddingMask(padded))
                .bias(Tensor.of(diagonal, length, length)).build();
        return new FullAttention(0f).forward(q, unitKeys, v, c);
    }

    private static void assertEqualsSharedQueryKeyFull(LshAttention attention, int length, boolean causal,
                                                       boolean[][] padded, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int batch = padded == null ? 2 : padded.length;
        Tensor q = GradCheck.input(rng, batch, 2, length, 4);
        Tensor v = GradCheck.input(rng, batch, 2, length, 3);
        Tensor weights = Tensor.randn(rng, batch, 2, length, 3);

        Tensor actual = attention.forward(q, q, v, context(causal, padded));
        actual.mul(weights).sum().backward();
        float[] dq = q.grad().toFloatArray();
        float[] dv = v.grad().toFloatArray();
        q.zeroGrad();
        v.zeroGrad();
        Tensor expected = sharedQueryKeyFull(q, v, causal, padded);
        expected.mul(weights).sum().backward();

        assertClose(actual.toFloatArray(), expected.toFloatArray(), 1e-5f, "output");
        assertClose(dq, q.grad().toFloatArray(), 1e-4f, "d query");
        assertClose(dv, v.grad().toFloatArray(), 1e-5f, "d value");
    }

    @Test
    void oneBucketOneRoundIsSharedQueryKeyFullAttentionWithSelfMask() {
        LshAttention oneChunk = lsh("numBuckets", "1", "numHashes", "1", "chunkLength", "8");
        assertEqualsSharedQueryKeyFull(oneChunk, 7, false, null, 1);
        assertEqualsSharedQueryKeyFull(oneChunk, 7, true, null, 2);
        assertEqualsSharedQueryKeyFull(oneChunk, 7, false, padRowZero(2, 7, 1, 5), 3);
        assertEqualsSharedQueryKeyFull(oneChunk, 7, true, padRowZero(2, 7, 0, 4), 4);
        // two chunks that each see the other cover the sequence too
        LshAttention twoChunks = lsh("numBuckets", "1", "numHashes", "1", "chunkLength", "4", "chunksAfter", "1");
        assertEqualsSharedQueryKeyFull(twoChunks, 8, false, padRowZero(2, 8, 6), 5);
    }

    @Test
    void queryWithNothingElseVisibleAttendsToItselfAndFullyMaskedQueryOutputsZeros() {
        SplittableRandom rng = new SplittableRandom(6);
        Tensor q = Tensor.randn(rng, 1, 1, 4, 4);
        Tensor v = Tensor.randn(rng, 1, 1, 4, 2);
        LshAttention attention = lsh("numBuckets", "1", "numHashes", "1", "chunkLength", "4");
        // causal: positions 0 and 1 are padded, so 2 sees only itself and 0, 1 see nothing
        boolean[][] padded = {{true, true, false, false}};
        Tensor out = attention.forward(q, q, v, context(true, padded));
        for (int d = 0; d < 2; d++) {
            assertThat(out.get(0, 0, 2, d)).isEqualTo(v.get(0, 0, 2, d));
            assertThat(out.get(0, 0, 0, d)).isCloseTo(0f, within(0f));
            assertThat(out.get(0, 0, 1, d)).isCloseTo(0f, within(0f));
        }
    }

    // ------------------------------------------------------------ float64 reference of the algorithm

    /** One configuration of lsh and its context, with an independent float64 implementation. */
    private record Case(int batch, int heads, int length, int headDim, int valueDim, LshAttention attention,
                        boolean causal, boolean[][] padded) {

        Tensor forward(Tensor[] in) {
            return attention.forward(in[0], in[0], in[1], context(causal, padded));
        }

        /**
         * The algorithm in double precision with plain loops: hash each round with the same
         * rotations, sort by (bucket, position) with a comparator, attend within the chunk window,
         * merge the rounds by their log-sum-exp.
         */
        double[] reference(double[][] in) {
            double[] x = in[0];
            double[] values = in[1];
            int rounds = attention.numHashes();
            int chunk = attention.chunkLength();
            int before = attention.chunksBefore();
            int after = attention.chunksAfter();
            int[] factors = attention.bucketFactors();
            int columns = Arrays.stream(factors).map(f -> f / 2).sum();
            float[] rotations = new LshHashing(headDim, rounds, factors, attention.seed()).rotations();
            double scale = 1 / Math.sqrt(headDim);
            double[] out = new double[batch * heads * length * valueDim];
            for (int b = 0; b < batch; b++) {
                boolean[] pad = padded == null ? new boolean[length] : padded[b];
                for (int h = 0; h < heads; h++) {
                    int base = (b * heads + h) * length;
                    double[][] unit = new double[length][headDim];
                    for (int n = 0; n < length; n++) {
                        double norm = 0;
                        for (int d = 0; d < headDim; d++) {
                            norm += x[(base + n) * headDim + d] * x[(base + n) * headDim + d];
                        }
                        for (int d = 0; d < headDim; d++) {
                            unit[n][d] = x[(base + n) * headDim + d] / Math.sqrt(norm + 1e-12);
                        }
                    }
                    double[][] roundOut = new double[rounds * length][];
                    double[] roundLse = new double[rounds * length];
                    for (int r = 0; r < rounds; r++) {
                        int[] bucket = new int[length];
                        for (int n = 0; n < length; n++) {
                            bucket[n] = hash(x, (base + n) * headDim, rotations, r * columns, rounds * columns, factors);
                        }
                        // padded positions last, then by bucket and position
                        Integer[] order = IntStream.range(0, length).boxed().toArray(Integer[]::new);
                        Arrays.sort(order, Comparator.<Integer, Boolean>comparing(n -> pad[n])
                                .thenComparingInt(n -> bucket[n]).thenComparingInt(n -> n));
                        for (int t = 0; t < length; t++) {
                            int n = order[t];
                            int first = causal ? t - before * chunk : (t / chunk - before) * chunk;
                            int last = (t / chunk + after + 1) * chunk - 1;
                            double[] scores = new double[length];
                            boolean[] seen = new boolean[length];
                            double max = Double.NEGATIVE_INFINITY;
                            for (int s = Math.max(first, 0); s <= Math.min(last, length - 1); s++) {
                                int m = order[s];
                                boolean sameBucket = bucket[m] == bucket[n];
                                if (pad[m] || (causal || !attention.attendAcrossBuckets()) && !sameBucket
                                        || causal && m > n) {
                                    continue;
                                }
                                seen[s] = true;
                                double dot = 0;
                                for (int d = 0; d < headDim; d++) {
                                    dot += x[(base + n) * headDim + d] * unit[m][d];
                                }
                                scores[s] = s == t ? -1e5 : dot * scale;
                                max = Math.max(max, scores[s]);
                            }
                            double[] o = new double[valueDim];
                            double sum = 0;
                            for (int s = 0; s < length; s++) {
                                if (seen[s]) {
                                    double e = Math.exp(scores[s] - max);
                                    sum += e;
                                    for (int c = 0; c < valueDim; c++) {
                                        o[c] += e * values[(base + order[s]) * valueDim + c];
                                    }
                                }
                            }
                            for (int c = 0; c < valueDim && sum > 0; c++) {
                                o[c] /= sum;
                            }
                            roundOut[r * length + n] = o;
                            roundLse[r * length + n] = sum > 0 ? max + Math.log(sum) : Double.NEGATIVE_INFINITY;
                        }
                    }
                    for (int n = 0; n < length; n++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int r = 0; r < rounds; r++) {
                            max = Math.max(max, roundLse[r * length + n]);
                        }
                        if (max == Double.NEGATIVE_INFINITY) {
                            continue;
                        }
                        double total = 0;
                        for (int r = 0; r < rounds; r++) {
                            total += Math.exp(roundLse[r * length + n] - max);
                        }
                        for (int r = 0; r < rounds; r++) {
                            double weight = Math.exp(roundLse[r * length + n] - max) / total;
                            for (int c = 0; c < valueDim; c++) {
                                out[(base + n) * valueDim + c] += weight * roundOut[r * length + n][c];
                            }
                        }
                    }
                }
            }
            return out;
        }

        /** Σᵢ digitᵢ·(b₀⋯bᵢ₋₁) with digitᵢ = argmax([xRᵢ; -xRᵢ]), R read from [headDim, stride]. */
        private int hash(double[] x, int offset, float[] rotations, int column, int stride, int[] factors) {
            int bucket = 0;
            int place = 1;
            for (int f : factors) {
                double[] rotated = new double[f];
                for (int i = 0; i < f / 2; i++) {
                    for (int d = 0; d < headDim; d++) {
                        rotated[i] += x[offset + d] * rotations[d * stride + column + i];
                    }
                    rotated[i + f / 2] = -rotated[i];
                }
                int best = 0;
                for (int i = 1; i < f; i++) {
                    best = rotated[i] > rotated[best] ? i : best;
                }
                bucket += place * best;
                place *= f;
                column += f / 2;
            }
            return bucket;
        }

        void check(String name, long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            GradCheck.of(name, this::forward, this::reference,
                    GradCheck.input(rng, batch, heads, length, headDim),
                    GradCheck.input(rng, batch, heads, length, valueDim)).check();
        }
    }

    @Test
    void multiRoundMatchesFloat64ReferenceWithGradients() {
        new Case(2, 2, 12, 4, 3, lsh("numBuckets", "4", "numHashes", "3", "chunkLength", "3", "chunksAfter", "1",
                "seed", "11"), false, null).check("3 rounds, 4 buckets, chunks before and after", 21);
    }

    @Test
    void factorisedBucketsCausalPaddedMatchFloat64ReferenceWithGradients() {
        new Case(2, 2, 12, 4, 3, lsh("numBuckets", "8", "bucketFactors", "2x4", "numHashes", "2", "chunkLength", "4",
                "chunksBefore", "2", "seed", "12"), true, padRowZero(2, 12, 2, 7, 11))
                .check("factorised 2x4 buckets, causal, padded", 22);
    }

    @Test
    void ownBucketOnlyWithRaggedLastChunkMatchesFloat64ReferenceWithGradients() {
        new Case(1, 3, 10, 5, 2, lsh("numBuckets", "2", "numHashes", "2", "chunkLength", "4",
                "attendAcrossBuckets", "false", "seed", "13"), false, padRowZero(1, 10, 4))
                .check("attendAcrossBuckets=false, length 10 in chunks of 4", 23);
    }

    // ------------------------------------------------------------ masks, determinism

    /** The values of [batch, heads, length, dim] at the positions where {@code keep} holds, row-major. */
    private static float[] rows(Tensor t, IntPredicate keep) {
        int[] s = t.shape();
        float[] data = t.toFloatArray();
        float[] out = new float[data.length];
        int kept = 0;
        for (int i = 0; i < data.length; i++) {
            if (keep.test(i / s[3] % s[2])) {
                out[kept++] = data[i];
            }
        }
        return Arrays.copyOf(out, kept);
    }

    /** q and v with position {@code position} of every batch row and head replaced by new random vectors. */
    private static Tensor[] changed(Tensor q, Tensor v, SplittableRandom rng, int... positions) {
        Tensor[] out = new Tensor[2];
        Tensor[] in = {q, v};
        for (int i = 0; i < 2; i++) {
            float[] data = in[i].toFloatArray();
            int[] s = in[i].shape();
            for (int row = 0; row < s[0] * s[1]; row++) {
                for (int p : positions) {
                    for (int d = 0; d < s[3]; d++) {
                        data[(row * s[2] + p) * s[3] + d] = (float) rng.nextGaussian() * 3;
                    }
                }
            }
            out[i] = Tensor.of(data, s);
        }
        return out;
    }

    @Test
    void causalOutputsDoNotDependOnLaterPositions() {
        SplittableRandom rng = new SplittableRandom(31);
        LshAttention attention = lsh("numBuckets", "4", "numHashes", "2", "chunkLength", "4", "seed", "3");
        Tensor q = Tensor.randn(rng, 2, 2, 32, 8);
        Tensor v = Tensor.randn(rng, 2, 2, 32, 4);
        Tensor out = attention.forward(q, q, v, context(true, null));
        for (int p : new int[] {3, 12, 20, 31}) {
            Tensor[] later = changed(q, v, rng, p);
            Tensor changedOut = attention.forward(later[0], later[0], later[1], context(true, null));
            assertClose(rows(changedOut, n -> n < p), rows(out, n -> n < p), 1e-6f, "outputs before position " + p);
            assertThat(rows(changedOut, n -> n == p)).as("output at the changed position %d", p)
                    .isNotEqualTo(rows(out, n -> n == p));
        }
    }

    @Test
    void paddedPositionsHaveNoInfluenceOnTheOthers() {
        SplittableRandom rng = new SplittableRandom(32);
        LshAttention attention = lsh("numBuckets", "4", "numHashes", "2", "chunkLength", "4", "chunksAfter", "1");
        boolean[][] padded = {new boolean[24], new boolean[24]};
        int[] positions = {3, 9, 10, 17};
        for (int p : positions) {
            padded[0][p] = true;
            padded[1][p] = true;
        }
        Tensor q = Tensor.randn(rng, 2, 2, 24, 8);
        Tensor v = Tensor.randn(rng, 2, 2, 24, 4);
        Tensor out = attention.forward(q, q, v, context(false, padded));
        Tensor[] other = changed(q, v, rng, positions);
        Tensor changedOut = attention.forward(other[0], other[0], other[1], context(false, padded));
        assertClose(rows(changedOut, n -> !padded[0][n]), rows(out, n -> !padded[0][n]), 1e-6f,
                "outputs at unpadded positions");
    }

    @Test
    void sameSeedHashesAndAttendsIdenticallyOtherSeedsHashDifferently() {
        SplittableRandom rng = new SplittableRandom(33);
        Tensor q = Tensor.randn(rng, 1, 2, 64, 8);
        Tensor v = Tensor.randn(rng, 1, 2, 64, 4);
        LshAttention a = lsh("numBuckets", "8", "chunkLength", "8", "seed", "7");
        LshAttention b = lsh("numBuckets", "8", "chunkLength", "8", "seed", "7");
        LshAttention c = lsh("numBuckets", "8", "chunkLength", "8", "seed", "8");
        float[] first = a.forward(q, q, v, AttentionContext.none()).toFloatArray();
        assertThat(a.forward(q, q, v, AttentionContext.none()).toFloatArray()).isEqualTo(first);
        assertThat(b.forward(q, q, v, AttentionContext.none()).toFloatArray()).isEqualTo(first);
        assertThat(c.forward(q, q, v, AttentionContext.none()).toFloatArray()).isNotEqualTo(first);
        int[] buckets7 = new LshHashing(8, 2, new int[] {8}, 7).buckets(q);
        assertThat(new LshHashing(8, 2, new int[] {8}, 7).buckets(q)).isEqualTo(buckets7);
        assertThat(new LshHashing(8, 2, new int[] {8}, 8).buckets(q)).isNotEqualTo(buckets7);
        assertThat(Arrays.stream(buckets7).distinct().count()).as("buckets used").isGreaterThan(4);

        AttentionContext dropout1 = AttentionContext.builder().dropout(0.3f, new SplittableRandom(5)).build();
        AttentionContext dropout2 = AttentionContext.builder().dropout(0.3f, new SplittableRandom(5)).build();
        float[] dropped = a.forward(q, q, v, dropout1).toFloatArray();
        assertThat(a.forward(q, q, v, dropout2).toFloatArray()).isEqualTo(dropped).isNotEqualTo(first);
    }

    // ------------------------------------------------------------ errors and descriptor

    @Test
    void rejectsInputsItCannotHonour() {
        LshAttention attention = lsh();
        Tensor q = Tensor.zeros(1, 2, 6, 4);
        Tensor v = Tensor.zeros(1, 2, 6, 3);
        assertThatThrownBy(() -> attention.forward(q, q.mul(1f), v, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key must be the query tensor itself");
        assertThatThrownBy(() -> attention.forward(q, q, v,
                AttentionContext.builder().bias(Tensor.zeros(6, 6)).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lsh: no additive bias is supported, got bias [6, 6]");
        assertThatThrownBy(() -> attention.forward(q, q, Tensor.zeros(1, 2, 5, 3), AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[1, 2, 5, 3]");
        assertThatThrownBy(() -> attention.forward(q, q, v,
                AttentionContext.builder().keyPaddingMask(Tensor.zeros(1, 5)).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keyPaddingMask [1, 5]");
    }

    @Test
    void invalidOptionsNameFieldAndValue() {
        assertThatThrownBy(() -> lsh("numBuckets", "3")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.numBuckets = 3 must be 1 or even");
        assertThatThrownBy(() -> lsh("numHashes", "0")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.numHashes = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> lsh("chunkLength", "0")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.chunkLength = 0");
        assertThatThrownBy(() -> lsh("numBuckets", "24", "bucketFactors", "4x3x2")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.bucketFactors = 4x3x2: factor 3 must be even and >= 2");
        assertThatThrownBy(() -> lsh("numBuckets", "32", "bucketFactors", "4x4")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.bucketFactors = 4x4 multiplies to 16, not lsh.numBuckets = 32");
        assertThatThrownBy(() -> lsh("bucketFactors", "eight")).isInstanceOf(PropertyException.class)
                .hasMessageContaining("lsh.bucketFactors = eight is not a product of integers like 8x4");
        assertThat(lsh("numBuckets", "32", "bucketFactors", "8x4").bucketFactors()).containsExactly(8, 4);
        assertThat(lsh("numBuckets", "24", "bucketFactors", "6 x 4").bucketFactors()).containsExactly(6, 4);
        assertThat(lsh("numBuckets", "1").bucketFactors()).isEmpty();
    }

    @Test
    void descriptorDeclaresSharedQueryKeyAndNoBias() {
        ComponentDescriptor d = PROVIDER.descriptor();
        assertThat(d.name()).isEqualTo("lsh");
        assertThat(d.reference()).contains("Reformer");
        assertThat(d.hyperparameters()).extracting(h -> h.name()).containsExactly("scale", "kvHeads", "qkNorm", "qkNormTemperature", "numMemoryKv", "talkingHeads",
                "topK", "numHashes", "numBuckets",
                "bucketFactors", "chunkLength", "chunksBefore", "chunksAfter", "attendAcrossBuckets", "seed");
        assertThat(d.capabilityMap()).contains(entry("sharedQueryKey", true), entry("crossAttention", false),
                entry("additiveBias", false), entry("causal", true), entry("keyPaddingMask", true),
                entry("incrementalDecoding", false), entry("exact", false));
    }

    private static void assertClose(float[] actual, float[] expected, float tolerance, String what) {
        assertThat(actual).as(what + ": size").hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            if (Math.abs(actual[i] - expected[i]) > tolerance * (1 + Math.abs(expected[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
