package org.xformers4j.component.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.TestSoftmaxAttention;
import org.xformers4j.tensor.Tensor;

/**
 * The positional suite catches what it promises to catch, on test doubles paired with exact
 * softmax attention ({@code test-softmax}: bias, causal, incremental decoding) and {@code leaky}
 * (no additive bias); attention-plugins applies it to the real encodings.
 */
class PositionalConformanceTest {

    // ------------------------------------------------------------------ test doubles

    /** Rotary rotation (Su et al., 2021): x·cos + rotateHalf(x)·sin at angle p·10000^(-2e/d), e < d/2. */
    @ComponentInfo(name = "test-rotary", summary = "Rotary rotation of queries and keys", reference = "test double")
    @PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = true)
    public static final class Rotary implements PositionalEncoding {
        private Rotary() {
        }

        @Override
        public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
            return new Tensor[] {rotate(query, queryOffset), rotate(key, keyOffset)};
        }

        /** x [B, H, L, D] at positions from offset. */
        static Tensor rotate(Tensor x, int offset) {
            int length = x.size(2);
            int d = x.size(3);
            float[] cos = new float[length * d];
            float[] sin = new float[length * d];
            for (int p = 0; p < length; p++) {
                for (int e = 0; e < d; e++) {
                    double angle = (offset + p) * Math.pow(10000, -2.0 * (e % (d / 2)) / d);
                    cos[p * d + e] = (float) Math.cos(angle);
                    sin[p * d + e] = (float) Math.sin(angle);
                }
            }
            Tensor rotatedHalf = Tensor.concat(3, x.slice(3, d / 2, d).neg(), x.slice(3, 0, d / 2));
            return x.mul(Tensor.of(cos, length, d)).add(rotatedHalf.mul(Tensor.of(sin, length, d)));
        }
    }

    /** Scales queries and keys by 1 + position/10: the scores depend on absolute positions. */
    @ComponentInfo(name = "test-absolute-scale", summary = "Scales by absolute position", reference = "test double")
    @PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = true)
    public static final class AbsoluteScale implements PositionalEncoding {
        private AbsoluteScale() {
        }

        @Override
        public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
            return new Tensor[] {scale(query, queryOffset), scale(key, keyOffset)};
        }

        private static Tensor scale(Tensor x, int offset) {
            float[] s = new float[x.size(2)];
            for (int p = 0; p < s.length; p++) {
                s[p] = 1 + (offset + p) / 10f;
            }
            return x.mul(Tensor.of(s, s.length, 1));
        }
    }

    /** Multiplies queries by NaN. */
    @ComponentInfo(name = "test-nan", summary = "Breaks the queries", reference = "test double")
    @PositionalCapabilities(rotatesQueryKey = true, learnable = false, extrapolates = false)
    public static final class NotANumber implements PositionalEncoding {
        private NotANumber() {
        }

        @Override
        public Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
            return new Tensor[] {query.mul(Float.NaN), key};
        }
    }

    /** ALiBi-like bias -2^-(h+1)·|i - j| (Press et al., 2022), with queries from queryOffset or, forgetful, from 0. */
    abstract static class DistanceBias implements PositionalEncoding {
        private final boolean usesOffset;

        DistanceBias(boolean usesOffset) {
            this.usesOffset = usesOffset;
        }

        @Override
        public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
            float[] b = new float[heads * queryLength * keyLength];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < queryLength; i++) {
                    for (int j = 0; j < keyLength; j++) {
                        int position = (usesOffset ? queryOffset : 0) + i;
                        b[(h * queryLength + i) * keyLength + j] = (float) (-Math.pow(2, -(h + 1))
                                * Math.abs(position - j));
                    }
                }
            }
            return Tensor.of(b, 1, heads, queryLength, keyLength);
        }
    }

    @ComponentInfo(name = "test-distance-bias", summary = "Bias by distance", reference = "test double")
    @PositionalCapabilities(attentionBias = true, learnable = false, extrapolates = true)
    public static final class GoodBias extends DistanceBias {
        private GoodBias() {
            super(true);
        }
    }

    @ComponentInfo(name = "test-forgetful-bias", summary = "Bias by distance, ignoring the query offset",
            reference = "test double")
    @PositionalCapabilities(attentionBias = true, learnable = false, extrapolates = true)
    public static final class ForgetfulBias extends DistanceBias {
        private ForgetfulBias() {
            super(false);
        }
    }

    /** ALiBi's causal form -2^-(h+1)·(i - j), which favours keys after the query outside a causal mask; may refuse that. */
    abstract static class OneSidedBias implements PositionalEncoding {
        private final boolean refusesNonCausal;

        OneSidedBias(boolean refusesNonCausal) {
            this.refusesNonCausal = refusesNonCausal;
        }

        @Override
        public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
            float[] b = new float[heads * queryLength * keyLength];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < queryLength; i++) {
                    for (int j = 0; j < keyLength; j++) {
                        b[(h * queryLength + i) * keyLength + j] = (float) (-Math.pow(2, -(h + 1)) * (queryOffset + i - j));
                    }
                }
            }
            return Tensor.of(b, 1, heads, queryLength, keyLength);
        }

        @Override
        public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset, boolean causal) {
            if (refusesNonCausal && !causal) {
                throw new IllegalArgumentException("test-refusing-bias: for causal attention only");
            }
            return attentionBias(heads, queryLength, keyLength, queryOffset);
        }
    }

    @ComponentInfo(name = "test-one-sided-bias", summary = "Causal distance bias in any context", reference = "test double")
    @PositionalCapabilities(attentionBias = true, learnable = false, extrapolates = true)
    public static final class FutureBonusBias extends OneSidedBias {
        private FutureBonusBias() {
            super(false);
        }
    }

    @ComponentInfo(name = "test-refusing-bias", summary = "Causal distance bias, causal contexts only",
            reference = "test double")
    @PositionalCapabilities(attentionBias = true, learnable = false, extrapolates = true)
    public static final class RefusingBias extends OneSidedBias {
        private RefusingBias() {
            super(true);
        }
    }

    /** A learned scalar per head and clipped distance j - i in [-2, 2] (Shaw et al., 2018). */
    @ComponentInfo(name = "test-learned-bias", summary = "Learned bias per clipped distance", reference = "test double")
    @PositionalCapabilities(attentionBias = true, learnable = true, extrapolates = true)
    public static final class LearnedBias extends Module implements PositionalEncoding {
        static final int CLIP = 2;
        private Tensor weight;

        private LearnedBias() {
        }

        @Override
        public void initialize(int modelDim, int heads, RandomGenerator rng) {
            weight = registerParameter("weight", Init.normal(rng, 0f, 1f, heads, 2 * CLIP + 1));
        }

        @Override
        public Tensor attentionBias(int heads, int queryLength, int keyLength, int queryOffset) {
            int[] bucket = new int[queryLength * keyLength];
            for (int i = 0; i < queryLength; i++) {
                for (int j = 0; j < keyLength; j++) {
                    bucket[i * keyLength + j] = Math.max(-CLIP, Math.min(CLIP, j - queryOffset - i)) + CLIP;
                }
            }
            return weight.indexSelect(1, bucket).reshape(1, heads, queryLength, keyLength);
        }
    }

    /** Adds 1 to the embeddings but declares itself learnable. */
    @ComponentInfo(name = "test-claims-learnable", summary = "Adds 1, has no parameters", reference = "test double")
    @PositionalCapabilities(addsToEmbeddings = true, learnable = true, extrapolates = true)
    public static final class ClaimsLearnable implements PositionalEncoding {
        private ClaimsLearnable() {
        }

        @Override
        public Tensor addToEmbeddings(Tensor embeddings, int offset) {
            return embeddings.add(1f);
        }
    }

    /** Fixed rows sin(p + c) for positions below 16, refusing later positions with {@code message}. */
    abstract static class Table implements PositionalEncoding {
        static final int POSITIONS = 16;
        private int modelDim;

        @Override
        public void initialize(int modelDim, int heads, RandomGenerator rng) {
            this.modelDim = modelDim;
        }

        abstract String refusal(int offset, int length);

        @Override
        public Tensor addToEmbeddings(Tensor embeddings, int offset) {
            int length = embeddings.size(1);
            if (offset + length > POSITIONS) {
                throw new IllegalArgumentException(refusal(offset, length));
            }
            float[] rows = new float[length * modelDim];
            for (int p = 0; p < length; p++) {
                for (int c = 0; c < modelDim; c++) {
                    rows[p * modelDim + c] = (float) Math.sin(offset + p + c);
                }
            }
            return embeddings.add(Tensor.of(rows, length, modelDim));
        }
    }

    @ComponentInfo(name = "test-table", summary = "16 fixed position rows", reference = "test double")
    @PositionalCapabilities(addsToEmbeddings = true, learnable = false, maximumLength = true, extrapolates = false)
    public static final class ClearTable extends Table {
        private ClearTable() {
        }

        @Override
        String refusal(int offset, int length) {
            return "test-table: positions " + offset + " to " + (offset + length - 1) + " exceed " + POSITIONS;
        }
    }

    @ComponentInfo(name = "test-vague-table", summary = "16 fixed position rows", reference = "test double")
    @PositionalCapabilities(addsToEmbeddings = true, learnable = false, maximumLength = true, extrapolates = false)
    public static final class VagueTable extends Table {
        private VagueTable() {
        }

        @Override
        String refusal(int offset, int length) {
            return "test-vague-table: input too long";
        }
    }

    private static <T extends Component> ComponentProvider<T> provider(Class<T> type) {
        return new ConfigurableComponentProvider<>(type) {
        };
    }

    private static final List<ComponentProvider<?>> MECHANISMS = List.of(provider(TestSoftmaxAttention.class),
            new AttentionConformanceTest.LeakyProvider());

    /** check → passed, of the checks that applied to the encoding of {@code type}. */
    private static Map<String, Boolean> outcomes(Class<? extends PositionalEncoding> type) {
        List<CheckResult> results = PositionalConformance.run(provider(type), MECHANISMS);
        assertThat(results).extracting(CheckResult::check).isSubsetOf(PositionalConformance.checkNames());
        return results.stream().collect(Collectors.toMap(CheckResult::check, CheckResult::passed, (a, b) -> a,
                java.util.LinkedHashMap::new));
    }

    private static CheckResult result(Class<? extends PositionalEncoding> type, String check) {
        return PositionalConformance.run(provider(type), MECHANISMS).stream().filter(r -> r.check().equals(check))
                .findFirst().orElseThrow();
    }

    // ------------------------------------------------------------------ tests

    @Test
    void checksRunInTheirDocumentedOrder() {
        assertThat(PositionalConformance.checkNames()).containsExactly("pairs-with-every-mechanism", "extrapolates",
                "relative-offset", "bias-shift-invariant", "no-future-bonus", "gradient-parameters",
                "incremental-decoding");
    }

    @Test
    void rotaryPassesTheChecksOfHook2() {
        assertThat(outcomes(Rotary.class)).containsExactly(Map.entry("pairs-with-every-mechanism", true),
                Map.entry("extrapolates", true), Map.entry("relative-offset", true),
                Map.entry("incremental-decoding", true));
        assertThat(result(Rotary.class, "pairs-with-every-mechanism").detail()).contains("test-softmax, leaky");
        assertThat(result(Rotary.class, "incremental-decoding").detail()).contains("with test-softmax")
                .doesNotContain("leaky");
    }

    @Test
    void scoresThatDependOnAbsolutePositionsFailRelativeOffsetOnly() {
        assertThat(outcomes(AbsoluteScale.class)).containsExactly(Map.entry("pairs-with-every-mechanism", true),
                Map.entry("extrapolates", true), Map.entry("relative-offset", false),
                Map.entry("incremental-decoding", true));
    }

    @Test
    void nonFiniteOutputsFailThePairing() {
        CheckResult pairs = result(NotANumber.class, "pairs-with-every-mechanism");
        assertThat(pairs.passed()).isFalse();
        assertThat(pairs.detail()).contains("test-softmax: output element 0 is NaN").contains("leaky: output element");
    }

    @Test
    void biasEncodingIsRefusedByAMechanismWithoutAdditiveBiasNamingBoth() {
        assertThat(outcomes(GoodBias.class)).containsExactly(Map.entry("pairs-with-every-mechanism", true),
                Map.entry("extrapolates", true), Map.entry("bias-shift-invariant", true),
                Map.entry("no-future-bonus", true), Map.entry("incremental-decoding", true));
        assertThat(result(GoodBias.class, "pairs-with-every-mechanism").detail())
                .contains("layer with test-softmax; refused at construction, naming both: leaky");
    }

    @Test
    void biasIgnoringTheQueryOffsetFailsShiftInvarianceAndIncrementalDecoding() {
        assertThat(outcomes(ForgetfulBias.class)).containsExactly(Map.entry("pairs-with-every-mechanism", true),
                Map.entry("extrapolates", true), Map.entry("bias-shift-invariant", false),
                Map.entry("no-future-bonus", true), Map.entry("incremental-decoding", false));
    }

    @Test
    void aBiasFavouringLaterKeysOutsideACausalMaskFailsUnlessItRefusesTheContext() {
        CheckResult bonus = result(FutureBonusBias.class, "no-future-bonus");
        assertThat(bonus.passed()).isFalse();
        assertThat(bonus.detail()).contains("head 0 gives key 1 after query 0 the bias 0.5")
                .contains("the future is favoured");
        assertThat(outcomes(FutureBonusBias.class)).containsEntry("bias-shift-invariant", true)
                .containsEntry("incremental-decoding", true);
        CheckResult refused = result(RefusingBias.class, "no-future-bonus");
        assertThat(refused.passed()).as(refused.detail()).isTrue();
        assertThat(refused.detail()).contains("refuses a non-causal context: test-refusing-bias: for causal attention only");
    }

    @Test
    void learnedBiasHasCheckedParameterGradients() {
        assertThat(outcomes(LearnedBias.class)).containsEntry("gradient-parameters", true)
                .containsEntry("bias-shift-invariant", true).containsEntry("incremental-decoding", true);
        assertThat(result(LearnedBias.class, "gradient-parameters").detail()).contains("d/d weight");
    }

    @Test
    void learnableWithoutParametersFailsTheGradientCheck() {
        CheckResult gradients = result(ClaimsLearnable.class, "gradient-parameters");
        assertThat(gradients.passed()).isFalse();
        assertThat(gradients.detail()).contains("declares learnable").contains("is not a Module with parameters");
    }

    @Test
    void maximumLengthMustBeRefusedWithAMessageNamingTheLength() {
        CheckResult clear = result(ClearTable.class, "extrapolates");
        assertThat(clear.passed()).as(clear.detail()).isTrue();
        assertThat(clear.detail()).startsWith("accepts sequences of up to 16 positions and refuses 32 (last position "
                + "31)").endsWith("positions 24 to 31 exceed 16");
        CheckResult vague = result(VagueTable.class, "extrapolates");
        assertThat(vague.passed()).isFalse();
        assertThat(vague.detail()).contains("mentions neither the length nor the last position");
        assertThat(outcomes(ClearTable.class)).containsExactly(Map.entry("pairs-with-every-mechanism", true),
                Map.entry("extrapolates", true), Map.entry("incremental-decoding", true));
    }

    @Test
    void withoutMechanismsOnlyTheEncodingsOwnChecksRun() {
        assertThat(PositionalConformance.run(provider(AbsoluteScale.class), List.of()))
                .extracting(CheckResult::check).containsExactly("extrapolates", "relative-offset");
    }

    @Test
    void otherKindsAreRejected() {
        assertThatThrownBy(() -> PositionalConformance.run(provider(TestSoftmaxAttention.class), MECHANISMS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-softmax' is a component of kind attention");
        assertThatThrownBy(() -> PositionalConformance.run(provider(Rotary.class), List.of(provider(GoodBias.class))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'test-distance-bias' is a component of kind positional");
    }
}
