package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.attention.exact.FullAttentionProvider;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.KvCache;
import org.xformers4j.nn.MultiHeadAttention;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

class RotaryPositionalEncodingTest {

    /** The factor of pair i at (interpolated) position p; 1 for rotary. */
    @FunctionalInterface
    interface PairScale {
        double at(int pair, double position);
    }

    /**
     * x [batch, heads, length, headDim] row-major, rotated in double with explicit cos and sin:
     * pair (c, c + r/2), c &lt; r/2, at position p = (offset + t) / factor turns by p · base^(−2c/r)
     * and is multiplied by {@code scale}; dimensions from r on are copied.
     */
    static double[] rotated(double[] x, int[] shape, int offset, double base, int rotaryDim, double factor,
                            PairScale scale) {
        int length = shape[2];
        int headDim = shape[3];
        int half = rotaryDim / 2;
        double[] out = x.clone();
        for (int row = 0; row < x.length / headDim; row++) {
            double position = (offset + row % length) / factor;
            int start = row * headDim;
            for (int c = 0; c < half; c++) {
                double angle = position / Math.pow(base, 2.0 * c / rotaryDim);
                double s = scale.at(c, position);
                double a = x[start + c];
                double b = x[start + c + half];
                out[start + c] = s * (a * Math.cos(angle) - b * Math.sin(angle));
                out[start + c + half] = s * (b * Math.cos(angle) + a * Math.sin(angle));
            }
        }
        return out;
    }

    /**
     * Scores q · kᵀ [batch, heads, queryLength, keyLength] in double of q [batch, heads,
     * queryLength, headDim] and k [batch, keyHeads, keyLength, headDim], query head h using key
     * head h / (heads / keyHeads).
     */
    static double[] scores(double[] q, int[] queryShape, double[] k, int[] keyShape) {
        int batch = queryShape[0];
        int heads = queryShape[1];
        int queryLength = queryShape[2];
        int headDim = queryShape[3];
        int keyHeads = keyShape[1];
        int keyLength = keyShape[2];
        double[] out = new double[batch * heads * queryLength * keyLength];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int kh = h / (heads / keyHeads);
                for (int i = 0; i < queryLength; i++) {
                    for (int j = 0; j < keyLength; j++) {
                        double dot = 0;
                        for (int c = 0; c < headDim; c++) {
                            dot += q[((b * heads + h) * queryLength + i) * headDim + c]
                                    * k[((b * keyHeads + kh) * keyLength + j) * headDim + c];
                        }
                        out[((b * heads + h) * queryLength + i) * keyLength + j] = dot;
                    }
                }
            }
        }
        return out;
    }

    /** Scores of {@code q} and {@code k} rotated by {@code pe} at the given offsets. */
    static double[] rotatedScores(PositionalEncoding pe, Tensor q, Tensor k, int queryOffset, int keyOffset) {
        Tensor[] rotated = pe.rotateQueryKey(q, k, queryOffset, keyOffset);
        return scores(toDouble(rotated[0]), rotated[0].shape(), toDouble(rotated[1]), rotated[1].shape());
    }

    static double[] toDouble(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    static void assertClose(String what, double[] actual, double[] expected, double tolerance) {
        assertThat(actual).as(what).hasSize(expected.length);
        for (int i = 0; i < actual.length; i++) {
            assertThat(actual[i]).as("%s, element %d", what, i).isCloseTo(expected[i], within(tolerance));
        }
    }

    static void assertClose(String what, Tensor actual, double[] expected, double tolerance) {
        assertClose(what, toDouble(actual), expected, tolerance);
    }

    /**
     * Full causal self-attention with {@code positional} equals decoding the same sequence in
     * pieces with a key/value cache, through grouped-query full attention: the cached keys,
     * rotated at their own positions, must meet later queries consistently.
     */
    static void assertIncrementalDecodingMatchesFullForward(PositionalEncoding positional) {
        SplittableRandom rng = new SplittableRandom(40);
        int dim = 16;
        MultiHeadAttention mha = new MultiHeadAttention(dim, 4,
                new FullAttentionProvider().create(Map.of("kvHeads", "2")), positional, true, rng);
        Tensor x = Tensor.randn(rng, 2, 7, dim);
        AttentionContext causal = AttentionContext.builder().causal(true).build();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            double[] full = toDouble(mha.selfAttention(x, causal));
            for (int[] chunks : new int[][] {{1, 1, 1, 1, 1, 1, 1}, {3, 4}, {2, 1, 4}}) {
                KvCache cache = new KvCache();
                Tensor[] outputs = new Tensor[chunks.length];
                int position = 0;
                for (int c = 0; c < chunks.length; c++) {
                    outputs[c] = mha.selfAttentionStep(x.narrow(1, position, chunks[c]), causal, cache);
                    position += chunks[c];
                }
                assertClose("decoding in chunks " + Arrays.toString(chunks), Tensor.concat(1, outputs), full, 1e-5);
            }
        }
    }

    private static final PairScale NONE = (pair, position) -> 1;

    @Test
    void valuesFollowTheFormula() {
        SplittableRandom rng = new SplittableRandom(1);
        Tensor q = Tensor.randn(rng, 2, 3, 5, 8);
        Tensor k = Tensor.randn(rng, 2, 3, 4, 8);
        Tensor[] out = new RotaryPositionalEncoding(10000, 0, 1).rotateQueryKey(q, k, 3, 1);
        assertThat(out[0].shape()).containsExactly(2, 3, 5, 8);
        assertThat(out[1].shape()).containsExactly(2, 3, 4, 8);
        assertClose("query", out[0], rotated(toDouble(q), q.shape(), 3, 10000, 8, 1, NONE), 1e-5);
        assertClose("key", out[1], rotated(toDouble(k), k.shape(), 1, 10000, 8, 1, NONE), 1e-5);

        // partial rotary, another base, half positions under interpolation
        Tensor x = Tensor.randn(rng, 1, 2, 6, 10);
        out = new RotaryPositionalEncoding(100, 4, 2).rotateQueryKey(x, x, 5, 0);
        assertClose("partial query", out[0], rotated(toDouble(x), x.shape(), 5, 100, 4, 2, NONE), 1e-5);
        assertClose("partial key", out[1], rotated(toDouble(x), x.shape(), 0, 100, 4, 2, NONE), 1e-5);
    }

    @Test
    void scoresDependOnlyOnTheRelativeOffset() {
        SplittableRandom rng = new SplittableRandom(2);
        Tensor q = Tensor.randn(rng, 2, 2, 6, 8);
        Tensor k = Tensor.randn(rng, 2, 2, 5, 8);
        for (RotaryPositionalEncoding pe : List.of(new RotaryPositionalEncoding(10000, 0, 1),
                new RotaryPositionalEncoding(500, 4, 1), new RotaryPositionalEncoding(10000, 0, 3))) {
            double[] reference = rotatedScores(pe, q, k, 0, 0);
            double[] lagged = rotatedScores(pe, q, k, 4, 1);
            for (int shift : new int[] {1, 37, 1000}) {
                assertClose(pe + " shifted by " + shift, rotatedScores(pe, q, k, shift, shift), reference, 1e-5);
                assertClose(pe + " lagged, shifted by " + shift, rotatedScores(pe, q, k, 4 + shift, 1 + shift), lagged,
                        1e-5);
            }
        }
        // the offset does matter
        RotaryPositionalEncoding pe = new RotaryPositionalEncoding(10000, 0, 1);
        assertThat(rotatedScores(pe, q, k, 3, 0)[0]).isNotCloseTo(rotatedScores(pe, q, k, 0, 0)[0], within(1e-3));
    }

    @Test
    void rotationPreservesNormsAndLeavesTheRestUnchanged() {
        SplittableRandom rng = new SplittableRandom(3);
        Tensor x = Tensor.randn(rng, 2, 3, 7, 12);
        for (int rotaryDim : new int[] {0, 6}) {
            Tensor[] out = new RotaryPositionalEncoding(10000, rotaryDim, 1).rotateQueryKey(x, x, 11, 500);
            for (Tensor rotated : out) {
                float[] before = x.toFloatArray();
                float[] after = rotated.toFloatArray();
                for (int row = 0; row < before.length / 12; row++) {
                    double normBefore = 0;
                    double normAfter = 0;
                    for (int c = 0; c < 12; c++) {
                        normBefore += before[row * 12 + c] * before[row * 12 + c];
                        normAfter += after[row * 12 + c] * after[row * 12 + c];
                    }
                    assertThat(Math.sqrt(normAfter)).as("rotaryDim %d, head vector %d", rotaryDim, row)
                            .isCloseTo(Math.sqrt(normBefore), within(1e-5));
                    for (int c = rotaryDim == 0 ? 12 : rotaryDim; c < 12; c++) {
                        assertThat(after[row * 12 + c]).as("unrotated dim %d of head vector %d", c, row)
                                .isEqualTo(before[row * 12 + c]);
                    }
                }
            }
        }
    }

    @Test
    void gradientsOfQueriesAndKeys() {
        SplittableRandom rng = new SplittableRandom(4);
        RotaryPositionalEncoding pe = new RotaryPositionalEncoding(100, 4, 1);
        int[] queryShape = {2, 2, 3, 6};
        int[] keyShape = {2, 1, 4, 6};
        Tensor q = GradCheck.input(rng, queryShape);
        Tensor k = GradCheck.input(rng, keyShape);
        GradCheck.of("rotary key", in -> pe.rotateQueryKey(q.detach(), in[0], 2, 5)[1],
                ref -> rotated(ref[0], keyShape, 5, 100, 4, 1, NONE), k).check();
        GradCheck.of("rotary scores", in -> {
            Tensor[] out = pe.rotateQueryKey(in[0], in[1], 3, 1);
            // one key head for both query heads
            return out[0].matmul(out[1].expand(2, 2, 4, 6), false, true);
        }, ref -> scores(rotated(ref[0], queryShape, 3, 100, 4, 1, NONE), queryShape,
                rotated(ref[1], keyShape, 1, 100, 4, 1, NONE), keyShape), q, k).check();
    }

    @Test
    void interpolationFactorTwoAtPosition2pEqualsFactorOneAtP() {
        SplittableRandom rng = new SplittableRandom(5);
        Tensor x = Tensor.randn(rng, 2, 2, 1, 8);
        RotaryPositionalEncoding plain = new RotaryPositionalEncoding(10000, 0, 1);
        RotaryPositionalEncoding interpolated = new RotaryPositionalEncoding(10000, 0, 2);
        for (int p : new int[] {0, 1, 3, 250, 4096}) {
            Tensor[] expected = plain.rotateQueryKey(x, x, p, p);
            Tensor[] actual = interpolated.rotateQueryKey(x, x, 2 * p, 2 * p);
            assertClose("query at " + p, actual[0], toDouble(expected[0]), 1e-6);
            assertClose("key at " + p, actual[1], toDouble(expected[1]), 1e-6);
        }
    }

    @Test
    void keysMayHaveFewerHeads() {
        SplittableRandom rng = new SplittableRandom(6);
        Tensor q = Tensor.randn(rng, 2, 4, 3, 8);
        Tensor k = Tensor.randn(rng, 2, 1, 5, 8);
        Tensor[] out = new RotaryPositionalEncoding(10000, 0, 1).rotateQueryKey(q, k, 2, 0);
        assertThat(out[0].shape()).containsExactly(2, 4, 3, 8);
        assertThat(out[1].shape()).containsExactly(2, 1, 5, 8);
        assertClose("query", out[0], rotated(toDouble(q), q.shape(), 2, 10000, 8, 1, NONE), 1e-5);
        assertClose("key", out[1], rotated(toDouble(k), k.shape(), 0, 10000, 8, 1, NONE), 1e-5);
        assertIncrementalDecodingMatchesFullForward(new RotaryPositionalEncoding(10000, 2, 1));
    }

    @Test
    void extrapolatesFarBeyondTrainingLengths() {
        SplittableRandom rng = new SplittableRandom(7);
        RotaryPositionalEncoding pe = new RotaryPositionalEncoding(10000, 0, 1);
        Tensor q = Tensor.randn(rng, 1, 2, 65, 8);
        Tensor k = Tensor.randn(rng, 1, 2, 65, 8);
        // positions 10,000 … 10,064
        Tensor[] out = pe.rotateQueryKey(q, k, 10_000, 10_000);
        assertClose("query", out[0], rotated(toDouble(q), q.shape(), 10_000, 10000, 8, 1, NONE), 1e-5);
        assertClose("scores", rotatedScores(pe, q, k, 10_000, 10_000), rotatedScores(pe, q, k, 0, 0), 1e-5);
    }

    @Test
    void rejectsHeadDimensionsItCannotRotate() {
        Tensor x = Tensor.zeros(1, 2, 3, 4);
        assertThatThrownBy(() -> new RotaryPositionalEncoding(10000, 6, 1).rotateQueryKey(x, x, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rotary: rotaryDim 6 must be even and at most headDim 4");
        Tensor y = Tensor.zeros(1, 2, 3, 8);
        assertThatThrownBy(() -> new RotaryPositionalEncoding(10000, 3, 1).rotateQueryKey(y, y, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rotary: rotaryDim 3 must be even and at most headDim 8");
        Tensor odd = Tensor.zeros(1, 2, 3, 5);
        assertThatThrownBy(() -> new RotaryPositionalEncoding(10000, 0, 1).rotateQueryKey(odd, odd, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rotary: rotaryDim 0 rotates the whole head, which needs an even headDim, "
                        + "got headDim 5");
        RotaryPositionalEncoding pe = new RotaryPositionalEncoding(10000, 0, 1);
        assertThatThrownBy(() -> pe.rotateQueryKey(y, Tensor.zeros(1, 2, 3, 6), 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must agree in batch and headDim, got query [1, 2, 3, 8] and key [1, 2, 3, 6]");
        assertThatThrownBy(() -> pe.rotateQueryKey(Tensor.zeros(2, 3, 8), y, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got query [2, 3, 8]");
        assertThatThrownBy(() -> pe.rotateQueryKey(y, y, 0, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rotary: offsets must be >= 0, got queryOffset 0 and keyOffset -1");
    }

    @Test
    void providerConfiguresAndValidates() {
        RotaryPositionalEncodingProvider provider = new RotaryPositionalEncodingProvider();
        RotaryPositionalEncoding pe = provider.create(Map.of("base", "500", "rotaryDim", "4",
                "interpolationFactor", "4"));
        assertThat(pe.base()).isEqualTo(500);
        assertThat(pe.rotaryDim()).isEqualTo(4);
        assertThat(pe.interpolationFactor()).isEqualTo(4);
        Tensor x = Tensor.randn(new SplittableRandom(8), 1, 1, 3, 6);
        assertClose("configured", pe.rotateQueryKey(x, x, 8, 8)[0],
                rotated(toDouble(x), x.shape(), 8, 500, 4, 4, NONE), 1e-5);
        RotaryPositionalEncoding defaults = provider.create(Map.of());
        assertThat(defaults.base()).isEqualTo(10000);
        assertThat(defaults.rotaryDim()).isZero();
        assertThat(defaults.interpolationFactor()).isEqualTo(1);
        assertThatThrownBy(() -> provider.create(Map.of("base", "1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("rotary.base = 1.0 is outside the valid range (1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("rotaryDim", "-2")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("rotary.rotaryDim = -2 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("interpolationFactor", "0.5")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("rotary.interpolationFactor = 0.5 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("theta", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'theta' for rotary; valid options: base, rotaryDim, "
                        + "interpolationFactor");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new RotaryPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("rotary");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Su et al., 2021, RoFormer: Enhanced Transformer with Rotary Position Embedding");
        assertThat(d.hyperparameters()).containsExactly(
                new Hyperparameter("base", "double", "10000.0",
                        "Base of the geometric progression of rotation frequencies, θ_i = base^(-2i/rotaryDim).", false,
                        "(1, +inf)", List.of()),
                new Hyperparameter("rotaryDim", "int", "0",
                        "Number of leading dimensions of each head to rotate (even, at most the head dimension); "
                                + "0 rotates the whole head.", false, "[0, +inf)", List.of()),
                new Hyperparameter("interpolationFactor", "double", "1.0",
                        "Positions are divided by this factor before rotation (position interpolation); "
                                + "1 leaves them unchanged.", false, "[1, +inf)", List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", false),
                entry("extrapolates", true), entry("learnable", false), entry("maximumLength", false),
                entry("rotatesQueryKey", true));
    }
}
