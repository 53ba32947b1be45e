package org.xformers4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

class MultiHeadAttentionTest {

    private static final int DIM = 8;

    // ------------------------------------------------------------------ test doubles

    /** Rotary rotation (Su et al., 2021) and an ALiBi-like bias -slope_h·|i - j| (Press et al., 2022) that log their calls. */
    @ComponentInfo(name = "test-rotary-alibi", summary = "Rotates q/k and biases scores by distance, logging calls",
            reference = "Su et al., 2021, RoFormer; Press et al., 2022, Train Short, Test Long")
    @PositionalCapabilities(rotatesQueryKey = true, attentionBias = true, learnable = false, extrapolates = true)
    static final class RotaryAlibi implements PositionalEncoding {

        final List<String> calls = new ArrayList<>();

        /** The rotation angle of dimension pair {@code d mod headDim/2} at {@code position}. */
        static double angle(int position, int d, int headDim) {
            return position * Math.pow(10000, -2.0 * (d % (headDim / 2)) / headDim);
        }

        static double bias(int head, int queryPosition, int keyPosition) {
            return -Math.pow(2, -(head + 1)) * Math.abs(queryPosition - keyPosition);
        }

        @Override
        public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
            calls.add("rotate " + queryOffset + " " + keyOffset);
            return new Tensor[] {rotate(query, queryOffset), rotate(key, keyOffset)};
        }

        @Override
        public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
            calls.add("bias " + heads + " " + queryLength + " " + keyLength + " " + queryOffset);
            float[] b = new float[heads * queryLength * keyLength];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < queryLength; i++) {
                    for (int j = 0; j < keyLength; j++) {
                        b[(h * queryLength + i) * keyLength + j] = (float) bias(h, queryOffset + i, j);
                    }
                }
            }
            return Tensor.of(b, 1, heads, queryLength, keyLength);
        }

        /** x [B, H, L, D] at positions offset…: x cos + rotateHalf(x) sin, rotateHalf([x1, x2]) = [-x2, x1]. */
        static Tensor rotate(Tensor x, int offset) {
            int length = x.size(2);
            int d = x.size(3);
            float[] cos = new float[length * d];
            float[] sin = new float[length * d];
            for (int p = 0; p < length; p++) {
                for (int e = 0; e < d; e++) {
                    cos[p * d + e] = (float) Math.cos(angle(offset + p, e, d));
                    sin[p * d + e] = (float) Math.sin(angle(offset + p, e, d));
                }
            }
            Tensor rotatedHalf = Tensor.concat(3, x.slice(3, d / 2, d).neg(), x.slice(3, 0, d / 2));
            return x.mul(Tensor.of(cos, length, d)).add(rotatedHalf.mul(Tensor.of(sin, length, d)));
        }
    }

    /** Adds 1 to every embedding: hook 1 only, which the layer leaves to the embedding stage. */
    @ComponentInfo(name = "test-add-one", summary = "Adds 1 to the embeddings", reference = "test double")
    @PositionalCapabilities(addsToEmbeddings = true, learnable = false, extrapolates = true)
    static final class AddOne implements PositionalEncoding {
        @Override
        public Tensor addToEmbeddings(Tensor embeddings, int offset) {
            return embeddings.add(1f);
        }
    }

    /** Needs a shared query-key projection; records whether it was given one tensor as query and key. */
    @ComponentInfo(name = "test-shared-qk", summary = "Softmax attention needing shared query-key projections",
            reference = "Kitaev et al., 2020, Reformer: The Efficient Transformer")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, sharedQueryKey = true, time = "O(N^2)", memory = "O(N^2)")
    static final class SharedQueryKey implements AttentionMechanism {
        final List<Boolean> sameTensor = new ArrayList<>();

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            sameTensor.add(query == key);
            return new TestSoftmaxAttention().forward(query, key, value, context);
        }
    }

    /** Supports nothing optional. */
    @ComponentInfo(name = "test-limited", summary = "Softmax attention with no optional capability",
            reference = "Vaswani et al., 2017, Attention Is All You Need")
    @AttentionCapabilities(causal = false, crossAttention = false, keyPaddingMask = false, additiveBias = false,
            incrementalDecoding = false, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class Limited implements AttentionMechanism {
        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return new TestSoftmaxAttention().forward(query, key, value, context);
        }
    }

    /** A mechanism with a parameter: a learned per-head multiplier of the queries, created in initialize. */
    @ComponentInfo(name = "test-temperature", summary = "Softmax attention with learned per-head query scales",
            reference = "Henry et al., 2020, Query-Key Normalization for Transformers")
    @AttentionCapabilities(causal = true, crossAttention = true, keyPaddingMask = true, additiveBias = true,
            incrementalDecoding = true, exact = true, time = "O(N^2)", memory = "O(N^2)")
    static final class Temperature extends Module implements AttentionMechanism {
        Tensor temperature;
        String initialized;

        @Override
        public void initialize(int heads, int headDim, RandomGenerator rng) {
            initialized = heads + " " + headDim;
            temperature = registerParameter("temperature", Init.uniform(rng, 0.5f, 1.5f, heads, 1, 1));
        }

        @Override
        public Tensor forward(Tensor query, Tensor key, Tensor value, AttentionContext context) {
            return new TestSoftmaxAttention().forward(query.mul(temperature), key, value, context);
        }
    }

    // ------------------------------------------------------------------ float64 reference

    /**
     * A layer's layout and call, for the reference: the projections are looked up by parameter
     * name among {@code names} (the layer's namedParameters order, which is GradCheck's input order
     * after the input sequences).
     */
    private record Case(int batch, int queryLength, int keyLength, int heads, int keyValueHeads, boolean cross,
                        boolean causal, float[] padding, boolean positional, List<String> names) {

        double[] parameter(double[][] in, String name) {
            int i = names.indexOf(name);
            return i < 0 ? null : in[(cross ? 2 : 1) + i];
        }

        /** Multi-head attention in float64 with plain loops. */
        double[] reference(double[][] in) {
            double[] xq = in[0];
            double[] xkv = cross ? in[1] : xq;
            String q = names.contains("queryKey.weight") ? "queryKey" : "query";
            String k = names.contains("queryKey.weight") ? "queryKey" : "key";
            int d = DIM / heads;
            int kvDim = keyValueHeads * d;
            double[] queries = NnReference.linear(xq, batch * queryLength, DIM, parameter(in, q + ".weight"), DIM,
                    parameter(in, q + ".bias"));
            double[] keys = NnReference.linear(xkv, batch * keyLength, DIM, parameter(in, k + ".weight"), kvDim,
                    parameter(in, k + ".bias"));
            double[] values = NnReference.linear(xkv, batch * keyLength, DIM, parameter(in, "value.weight"), kvDim,
                    parameter(in, "value.bias"));
            double[] merged = new double[batch * queryLength * DIM];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int g = h / (heads / keyValueHeads);
                    for (int i = 0; i < queryLength; i++) {
                        double[] qi = head(queries, (b * queryLength + i) * DIM + h * d, d, i);
                        double[] w = new double[keyLength];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < keyLength; j++) {
                            boolean masked = padding != null && padding[b * keyLength + j] != 0
                                    || causal && j > keyLength - queryLength + i;
                            if (masked) {
                                w[j] = Double.NaN;
                                continue;
                            }
                            double[] kj = head(keys, (b * keyLength + j) * kvDim + g * d, d, j);
                            double s = 0;
                            for (int e = 0; e < d; e++) {
                                s += qi[e] * kj[e];
                            }
                            w[j] = s / Math.sqrt(d) + (positional ? RotaryAlibi.bias(h, i, j) : 0);
                            max = Math.max(max, w[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j < keyLength; j++) {
                            w[j] = Double.isNaN(w[j]) ? 0 : Math.exp(w[j] - max);
                            sum += w[j];
                        }
                        for (int j = 0; j < keyLength; j++) {
                            for (int e = 0; e < d; e++) {
                                merged[(b * queryLength + i) * DIM + h * d + e] += sum == 0 ? 0
                                        : w[j] / sum * values[(b * keyLength + j) * kvDim + g * d + e];
                            }
                        }
                    }
                }
            }
            return NnReference.linear(merged, batch * queryLength, DIM, parameter(in, "output.weight"), DIM,
                    parameter(in, "output.bias"));
        }

        /** The head vector at {@code start}, rotated at {@code position} when the case has the positional double. */
        private double[] head(double[] projected, int start, int d, int position) {
            double[] x = Arrays.copyOfRange(projected, start, start + d);
            if (!positional) {
                return x;
            }
            double[] r = new double[d];
            for (int e = 0; e < d / 2; e++) {
                double a = RotaryAlibi.angle(position, e, d);
                r[e] = x[e] * Math.cos(a) - x[e + d / 2] * Math.sin(a);
                r[e + d / 2] = x[e + d / 2] * Math.cos(a) + x[e] * Math.sin(a);
            }
            return r;
        }
    }

    /** GradCheck of the layer's self- or cross-attention, as the case says, against the reference. */
    private static void checkAgainstReference(String name, MultiHeadAttention mha, Case c, SplittableRandom rng) {
        checkAgainstReference(name, mha, c, rng, (in, context) -> c.cross() ? mha.crossAttention(in[0], in[1], context)
                : mha.selfAttention(in[0], context));
    }

    /**
     * GradCheck of {@code call} against the reference, on the inputs and every parameter: {@code call}
     * gets the inputs (the query sequence, then the memory in a cross case) and the case's context.
     */
    private static void checkAgainstReference(String name, MultiHeadAttention mha, Case c, SplittableRandom rng,
                                              BiFunction<Tensor[], AttentionContext, Tensor> call) {
        NnReference.randomize(mha, rng, 0.5f);
        Tensor query = GradCheck.input(rng, c.batch(), c.queryLength(), DIM);
        Tensor keyValue = c.cross() ? GradCheck.input(rng, c.batch(), c.keyLength(), DIM) : query;
        AttentionContext context = AttentionContext.builder().causal(c.causal())
                .keyPaddingMask(c.padding() == null ? null : Tensor.of(c.padding(), c.batch(), c.keyLength())).build();
        List<Tensor> inputs = new ArrayList<>(c.cross() ? List.of(query, keyValue) : List.of(query));
        inputs.addAll(mha.parameters());
        GradCheck.of(name, in -> call.apply(in, context), c::reference, inputs.toArray(new Tensor[0])).check();
    }

    private static Case selfCase(MultiHeadAttention mha, int length, boolean causal, float[] padding, boolean positional) {
        return new Case(2, length, length, mha.heads(), mha.keyValueHeads(), false, causal, padding, positional,
                List.copyOf(mha.namedParameters().keySet()));
    }

    // ------------------------------------------------------------------ forward and gradients

    @Test
    void selfAttentionWithPaddingMatchesReference() {
        SplittableRandom rng = new SplittableRandom(1);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        float[] padding = {0, 0, 0, 1, 0, 1, 0, 0};
        checkAgainstReference("self-attention, padded", mha, selfCase(mha, 4, false, padding, false), rng);
    }

    @Test
    void causalSelfAttentionWithoutBiasMatchesReference() {
        SplittableRandom rng = new SplittableRandom(2);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, false, rng);
        assertThat(mha.namedParameters()).containsOnlyKeys("query.weight", "key.weight", "value.weight", "output.weight");
        checkAgainstReference("causal self-attention", mha, selfCase(mha, 4, true, null, false), rng);
    }

    @Test
    void crossAttentionWithPaddingMatchesReference() {
        SplittableRandom rng = new SplittableRandom(3);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        float[] padding = {0, 0, 0, 0, 1, 0, 1, 0, 0, 0};
        Case c = new Case(2, 3, 5, 2, 2, true, false, padding, false, List.copyOf(mha.namedParameters().keySet()));
        checkAgainstReference("cross-attention, padded", mha, c, rng);
    }

    @Test
    void positionalHooksMatchReference() {
        SplittableRandom rng = new SplittableRandom(4);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), new RotaryAlibi(), true, rng);
        checkAgainstReference("causal self-attention with rotation and bias", mha, selfCase(mha, 4, true, null, true),
                rng);
    }

    @Test
    void groupedQueryAttentionMatchesReferenceAndShrinksKeyValueProjections() {
        SplittableRandom rng = new SplittableRandom(5);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 4, new TestSoftmaxAttention(2), new RotaryAlibi(), true,
                rng);
        assertThat(mha.keyValueHeads()).isEqualTo(2);
        assertThat(mha.namedParameters().get("query.weight").shape()).containsExactly(DIM, DIM);
        assertThat(mha.namedParameters().get("key.weight").shape()).containsExactly(2 * 2, DIM);
        assertThat(mha.namedParameters().get("value.weight").shape()).containsExactly(2 * 2, DIM);
        assertThat(mha.namedParameters().get("key.bias").shape()).containsExactly(2 * 2);
        checkAgainstReference("grouped-query attention", mha, selfCase(mha, 4, true, null, true), rng);

        KvCache cache = new KvCache();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            mha.selfAttentionStep(Tensor.randn(rng, 2, 3, DIM), AttentionContext.builder().causal(true).build(), cache);
        }
        assertThat(cache.keys().shape()).containsExactly(2, 2, 3, 2);
        assertThat(cache.values().shape()).containsExactly(2, 2, 3, 2);
    }

    @Test
    void sharedQueryKeyUsesOneProjectionAndOneTensor() {
        SplittableRandom rng = new SplittableRandom(6);
        SharedQueryKey mechanism = new SharedQueryKey();
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, mechanism, null, true, rng);
        assertThat(mha.namedParameters()).containsOnlyKeys("queryKey.weight", "queryKey.bias", "value.weight",
                "value.bias", "output.weight", "output.bias");
        float[] padding = {0, 0, 1, 0, 0, 0, 0, 0};
        checkAgainstReference("shared query-key self-attention", mha, selfCase(mha, 4, false, padding, false), rng);
        assertThat(mechanism.sameTensor).containsOnly(true);
    }

    @Test
    void sharedQueryKeyWithRotationRotatesOnceAndPassesOneTensor() {
        SplittableRandom rng = new SplittableRandom(16);
        SharedQueryKey mechanism = new SharedQueryKey();
        RotaryAlibi positional = new RotaryAlibi();
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, mechanism, positional, true, rng);
        float[] padding = {0, 0, 1, 0, 0, 0, 0, 0};
        checkAgainstReference("shared query-key self-attention with rotation and bias", mha,
                selfCase(mha, 4, false, padding, true), rng);
        assertThat(mechanism.sameTensor).containsOnly(true);
        positional.calls.clear();
        mha.selfAttention(Tensor.randn(rng, 1, 3, DIM), AttentionContext.none());
        assertThat(positional.calls).containsExactlyInAnyOrder("rotate 0 0", "bias 2 3 3 0");
    }

    @Test
    void sharedQueryKeyCrossAttentionOfTheQueryItselfProjectsTheKeysApart() {
        SplittableRandom rng = new SplittableRandom(20);
        SharedQueryKey mechanism = new SharedQueryKey();
        RotaryAlibi positional = new RotaryAlibi();
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, mechanism, positional, true, rng);
        // the memory is the query tensor itself: still cross-attention, whose keys are the shared
        // projection of the memory, computed and rotated apart from the queries, to the same values
        checkAgainstReference("causal shared query-key cross-attention of the query itself", mha,
                selfCase(mha, 4, true, null, true), rng, (in, context) -> mha.crossAttention(in[0], in[0], context));
        assertThat(mechanism.sameTensor).isNotEmpty().containsOnly(false);

        Tensor x = Tensor.randn(rng, 2, 3, DIM);
        mechanism.sameTensor.clear();
        positional.calls.clear();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor cross = mha.crossAttention(x, x, AttentionContext.none());
            Tensor self = mha.selfAttention(x, AttentionContext.none());
            assertClose(cross, self, 1e-6);
        }
        assertThat(mechanism.sameTensor).containsExactly(false, true);
        assertThat(positional.calls).containsExactly("bias 2 3 3 0", "rotate 0 0", "bias 2 3 3 0", "rotate 0 0");
    }

    @Test
    void mechanismParametersAreInitialisedRegisteredAndTrained() {
        SplittableRandom rng = new SplittableRandom(7);
        Temperature mechanism = new Temperature();
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 4, mechanism, null, false, rng);
        assertThat(mechanism.initialized).isEqualTo("4 2");
        assertThat(mha.namedParameters()).containsKey("mechanism.temperature");
        mha.selfAttention(Tensor.randn(rng, 2, 3, DIM), AttentionContext.none()).sum().backward();
        assertThat(mechanism.temperature.grad()).isNotNull();
        assertThat(mechanism.temperature.grad().abs().sum().item()).isPositive();
    }

    @Test
    void attentionDropoutActsOnlyInTraining() {
        SplittableRandom rng = new SplittableRandom(8);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        Tensor x = Tensor.randn(rng, 2, 5, DIM);
        float[] plain = mha.selfAttention(x, AttentionContext.none()).toFloatArray();
        AttentionContext dropout = AttentionContext.builder().dropout(0.5f, new SplittableRandom(9)).build();
        assertThat(mha.selfAttention(x, dropout).toFloatArray()).isNotEqualTo(plain);
        mha.eval();
        assertThat(mha.selfAttention(x, dropout).toFloatArray()).containsExactly(plain);
    }

    // ------------------------------------------------------------------ incremental decoding

    /** Outputs of feeding {@code x} [B, L, DIM] in pieces of {@code chunks} with a cache, concatenated. */
    static Tensor decode(MultiHeadAttention mha, Tensor x, Tensor padding, KvCache cache, int... chunks) {
        List<Tensor> outputs = new ArrayList<>();
        int position = cache.length();
        for (int chunk : chunks) {
            AttentionContext context = AttentionContext.builder().causal(true)
                    .keyPaddingMask(padding == null ? null : padding.slice(1, 0, position + chunk)).build();
            outputs.add(mha.selfAttentionStep(x.narrow(1, position, chunk), context, cache));
            position += chunk;
        }
        return Tensor.concat(1, outputs.toArray(new Tensor[0]));
    }

    static void assertClose(Tensor actual, Tensor expected, double tolerance) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertThat((double) a[i]).as("element %d", i).isCloseTo(e[i], within(tolerance));
        }
    }

    @Test
    void incrementalDecodingEqualsFullCausalForward() {
        SplittableRandom rng = new SplittableRandom(10);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 4, new TestSoftmaxAttention(2), new RotaryAlibi(), true,
                rng);
        NnReference.randomize(mha, rng, 0.5f);
        Tensor x = Tensor.randn(rng, 2, 7, DIM);
        // row 1 is left-padded by two positions, as a shorter prompt in a batch
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2, 7);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor full = mha.selfAttention(x, AttentionContext.builder().causal(true).keyPaddingMask(padding).build());
            assertClose(decode(mha, x, padding, new KvCache(), 1, 1, 1, 1, 1, 1, 1), full, 1e-5);
            assertClose(decode(mha, x, padding, new KvCache(), 2, 3, 2), full, 1e-5);
            assertClose(decode(mha, x, padding, new KvCache(), 3, 1, 3), full, 1e-5);
        }
    }

    @Test
    void cacheHoldsDetachedKeysAndValuesOfEveryPosition() {
        SplittableRandom rng = new SplittableRandom(11);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        KvCache cache = new KvCache();
        assertThat(cache.length()).isZero();
        assertThat(cache.keys()).isNull();
        Tensor out = mha.selfAttentionStep(Tensor.randn(rng, 2, 3, DIM), AttentionContext.builder().causal(true).build(),
                cache);
        mha.selfAttentionStep(Tensor.randn(rng, 2, 2, DIM), AttentionContext.builder().causal(true).build(), cache);
        assertThat(out.requiresGrad()).isTrue();
        assertThat(cache.length()).isEqualTo(5);
        assertThat(cache.keys().shape()).containsExactly(2, 2, 5, 4);
        assertThat(cache.keys().requiresGrad()).isFalse();
        assertThat(cache.values().requiresGrad()).isFalse();
    }

    @Test
    void reorderedCacheContinuesTheChosenRows() {
        SplittableRandom rng = new SplittableRandom(12);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), new RotaryAlibi(), true,
                rng);
        Tensor x = Tensor.randn(rng, 2, 5, DIM);
        int[] origins = {1, 0, 1};
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            KvCache cache = new KvCache();
            decode(mha, x, null, cache, 3);
            cache.reorder(origins);
            assertThat(cache.keys().shape()).containsExactly(3, 2, 3, 4);
            Tensor beams = x.indexSelect(0, origins);
            Tensor continued = decode(mha, beams, null, cache, 1, 1);
            Tensor full = mha.selfAttention(beams, AttentionContext.builder().causal(true).build());
            assertClose(continued, full.narrow(1, 3, 2), 1e-5);
        }
        assertThatThrownBy(() -> {
            KvCache cache = new KvCache();
            mha.selfAttentionStep(x, AttentionContext.none(), cache);
            cache.reorder(new int[] {0, 2});
        }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("origins[1] = 2");
        KvCache empty = new KvCache();
        empty.reorder(origins);
        assertThat(empty.length()).isZero();
    }

    @Test
    void cachedCrossAttentionProjectsTheMemoryOnceAndFollowsReorderedRows() {
        SplittableRandom rng = new SplittableRandom(13);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        NnReference.randomize(mha, rng, 0.5f);
        Tensor memory = Tensor.randn(rng, 2, 4, DIM);
        Tensor padding = Tensor.of(new float[] {0, 0, 0, 0, 0, 0, 1, 1}, 2, 4);     // row 1's source is shorter
        AttentionContext context = AttentionContext.builder().keyPaddingMask(padding).build();
        Tensor first = Tensor.randn(rng, 2, 3, DIM);
        Tensor next = Tensor.randn(rng, 2, 1, DIM);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            KvCache cache = new KvCache();
            assertClose(mha.crossAttentionStep(first, memory, context, cache), mha.crossAttention(first, memory, context),
                    1e-6);
            assertThat(cache.keys().shape()).containsExactly(2, 2, 4, 4);
            Tensor keys = cache.keys();
            assertClose(mha.crossAttentionStep(next, memory, context, cache), mha.crossAttention(next, memory, context),
                    1e-6);
            assertThat(cache.keys()).isSameAs(keys);                   // projected once, not again

            int[] origins = {1, 1, 0};
            cache.reorder(origins);
            Tensor beams = Tensor.randn(rng, 3, 1, DIM);
            AttentionContext reordered = AttentionContext.builder().keyPaddingMask(padding.indexSelect(0, origins))
                    .build();
            Tensor memoryRows = memory.indexSelect(0, origins);
            assertClose(mha.crossAttentionStep(beams, memoryRows, reordered, cache),
                    mha.crossAttention(beams, memoryRows, reordered), 1e-6);
            assertThatThrownBy(() -> mha.crossAttentionStep(next, memory, context, cache))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reordered with the rows");
        }
        MultiHeadAttention rotating = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), new RotaryAlibi(),
                true, rng);
        assertThatThrownBy(() -> rotating.crossAttentionStep(next, memory, context, new KvCache()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not rotate");
    }

    @Test
    void positionalHooksGetAbsoluteOffsets() {
        SplittableRandom rng = new SplittableRandom(13);
        RotaryAlibi positional = new RotaryAlibi();
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), positional, true, rng);
        mha.selfAttention(Tensor.randn(rng, 1, 4, DIM), AttentionContext.none());
        assertThat(positional.calls).containsExactlyInAnyOrder("rotate 0 0", "bias 2 4 4 0");
        positional.calls.clear();

        mha.crossAttention(Tensor.randn(rng, 1, 3, DIM), Tensor.randn(rng, 1, 6, DIM), AttentionContext.none());
        assertThat(positional.calls).containsExactlyInAnyOrder("rotate 0 0", "bias 2 3 6 0");
        positional.calls.clear();

        KvCache cache = new KvCache();
        decode(mha, Tensor.randn(rng, 1, 6, DIM), null, cache, 2, 3, 1);
        assertThat(positional.calls).containsExactlyInAnyOrder("rotate 0 0", "bias 2 2 2 0", "rotate 2 2", "bias 2 3 5 2",
                "rotate 5 5", "bias 2 1 6 5");
    }

    // ------------------------------------------------------------------ errors

    @Test
    void unsupportedRequestsNameTheMechanismAndTheCapability() {
        SplittableRandom rng = new SplittableRandom(14);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new Limited(), null, true, rng);
        Tensor x = Tensor.randn(rng, 1, 3, DIM);
        assertThat(mha.selfAttention(x, AttentionContext.none()).shape()).containsExactly(1, 3, DIM);
        assertThatThrownBy(() -> mha.crossAttention(x, Tensor.randn(rng, 1, 4, DIM), AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("cross-attention")
                .hasMessageContaining("crossAttention");
        assertThatThrownBy(() -> mha.selfAttention(x, AttentionContext.builder().causal(true).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("capability causal is false");
        assertThatThrownBy(() -> mha.selfAttention(x,
                        AttentionContext.builder().keyPaddingMask(Tensor.zeros(1, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("capability keyPaddingMask is false");
        assertThatThrownBy(() -> mha.selfAttention(x, AttentionContext.builder().bias(Tensor.zeros(1, 1, 3, 3)).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("capability additiveBias is false");
        assertThatThrownBy(() -> mha.selfAttentionStep(x, AttentionContext.none(), new KvCache()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("capability incrementalDecoding is false");
        assertThatThrownBy(() -> new MultiHeadAttention(DIM, 2, new Limited(), new RotaryAlibi(), true, rng))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("additiveBias")
                .hasMessageContaining("'test-rotary-alibi'");
    }

    @Test
    void crossAttentionIsChosenByTheOperationNotByTheTensor() {
        SplittableRandom rng = new SplittableRandom(21);
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new Limited(), null, true, rng);
        Tensor x = Tensor.randn(rng, 1, 3, DIM);
        assertThat(mha.selfAttention(x, AttentionContext.none()).shape()).containsExactly(1, 3, DIM);
        assertThatThrownBy(() -> mha.crossAttention(x, x, AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("MultiHeadAttention: attention mechanism 'test-limited' does not support cross-attention "
                        + "(capability crossAttention is false)");
        assertThatThrownBy(() -> mha.crossAttentionStep(x, x, AttentionContext.none(), new KvCache()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-limited'").hasMessageContaining("capability crossAttention is false");
    }

    @Test
    void biasProducingEncodingWithAMechanismWithoutAdditiveBiasFailsAtConstructionNamingBoth() {
        assertThatThrownBy(() -> new MultiHeadAttention(DIM, 2, new Limited(), new RotaryAlibi(), true,
                new SplittableRandom(17)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("MultiHeadAttention: positional encoding 'test-rotary-alibi' produces an attention bias, "
                        + "which attention mechanism 'test-limited' does not accept (additiveBias is false)");
    }

    @Test
    void encodingThatOnlyAddsToEmbeddingsIsAcceptedAndLeftToTheEmbeddingStage() {
        SplittableRandom data = new SplittableRandom(18);
        Tensor x = Tensor.randn(data, 2, 3, DIM);
        MultiHeadAttention with = new MultiHeadAttention(DIM, 2, new Limited(), new AddOne(), true,
                new SplittableRandom(19));
        MultiHeadAttention without = new MultiHeadAttention(DIM, 2, new Limited(), null, true, new SplittableRandom(19));
        assertThat(with.selfAttention(x, AttentionContext.none()).toFloatArray())
                .containsExactly(without.selfAttention(x, AttentionContext.none()).toFloatArray());
    }

    @Test
    void badLayoutsAndShapesAreRejected() {
        SplittableRandom rng = new SplittableRandom(15);
        assertThatThrownBy(() -> new MultiHeadAttention(DIM, 3, new TestSoftmaxAttention(), null, true, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelDim 8 is not a multiple of heads 3");
        assertThatThrownBy(() -> new MultiHeadAttention(18, 9, new TestSoftmaxAttention(2), null, true, rng))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keyValueHeads 4 for 9 heads must be a positive divisor");
        MultiHeadAttention mha = new MultiHeadAttention(DIM, 2, new TestSoftmaxAttention(), null, true, rng);
        assertThatThrownBy(() -> mha.selfAttention(Tensor.randn(rng, 1, 3, DIM + 1), AttentionContext.none()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("x must be [batch, length, modelDim = 8]")
                .hasMessageContaining("[1, 3, 9]");
        assertThatThrownBy(() -> mha.crossAttention(Tensor.randn(rng, 1, 3, DIM), Tensor.randn(rng, 2, 3, DIM),
                AttentionContext.none())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("different batch sizes");
        KvCache cache = new KvCache();
        mha.selfAttentionStep(Tensor.randn(rng, 1, 3, DIM), AttentionContext.none(), cache);
        assertThatThrownBy(() -> mha.selfAttentionStep(Tensor.randn(rng, 1, 1, DIM),
                AttentionContext.builder().keyPaddingMask(Tensor.zeros(1, 1)).build(), cache))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPaddingMask [1, 1]")
                .hasMessageContaining("[1, 4], covering the 3 cached positions");
        assertThat(cache.length()).as("a rejected step caches nothing").isEqualTo(3);
        assertThatThrownBy(() -> mha.selfAttentionStep(Tensor.randn(rng, 2, 1, DIM), AttentionContext.none(), cache))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("do not continue the cached keys");
    }
}
