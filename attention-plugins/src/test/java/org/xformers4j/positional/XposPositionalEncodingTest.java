package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.assertClose;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.assertIncrementalDecodingMatchesFullForward;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.rotated;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.rotatedScores;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.scores;
import static org.xformers4j.positional.RotaryPositionalEncodingTest.toDouble;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class XposPositionalEncodingTest {

    /** ζ_c = (2c/r + γ)/(1 + γ) for pair c of r rotated dimensions. */
    private static double zeta(int pair, int rotaryDim, double gamma) {
        return (2.0 * pair / rotaryDim + gamma) / (1 + gamma);
    }

    /** x rotated as rotary and multiplied by ζ_c^(±p/scaleBase): + for queries, − for keys. */
    private static double[] reference(double[] x, int[] shape, int offset, double base, int rotaryDim, double gamma,
                                      double scaleBase, boolean key) {
        double sign = key ? -1 : 1;
        return rotated(x, shape, offset, base, rotaryDim, 1,
                (pair, position) -> Math.pow(zeta(pair, rotaryDim, gamma), sign * position / scaleBase));
    }

    private static XposPositionalEncoding paper() {
        return new XposPositionalEncoding(10000, 0, 0.4, 512);
    }

    @Test
    void valuesFollowTheFormula() {
        SplittableRandom rng = new SplittableRandom(11);
        Tensor q = Tensor.randn(rng, 2, 4, 5, 8);
        Tensor k = Tensor.randn(rng, 2, 2, 6, 8);
        Tensor[] out = paper().rotateQueryKey(q, k, 300, 2);
        assertThat(out[0].shape()).containsExactly(2, 4, 5, 8);
        assertThat(out[1].shape()).containsExactly(2, 2, 6, 8);
        assertClose("query", out[0], reference(toDouble(q), q.shape(), 300, 10000, 8, 0.4, 512, false), 1e-5);
        assertClose("key", out[1], reference(toDouble(k), k.shape(), 2, 10000, 8, 0.4, 512, true), 1e-5);

        // partial: the decay, like the rotation, covers the first rotaryDim dimensions only
        Tensor x = Tensor.randn(rng, 1, 2, 4, 6);
        out = new XposPositionalEncoding(100, 4, 0.2, 64).rotateQueryKey(x, x, 40, 90);
        assertClose("partial query", out[0], reference(toDouble(x), x.shape(), 40, 100, 4, 0.2, 64, false), 1e-5);
        assertClose("partial key", out[1], reference(toDouble(x), x.shape(), 90, 100, 4, 0.2, 64, true), 1e-5);
    }

    @Test
    void scoresDecayWithTheOffset() {
        // a query and a key along the first dimension: pair 0, θ_0 = 1, ζ_0 = γ / (1 + γ)
        float[] unit = new float[8];
        unit[0] = 1;
        Tensor x = Tensor.of(unit, 1, 1, 1, 8);
        XposPositionalEncoding pe = paper();
        for (int[] positions : new int[][] {{0, 0}, {7, 2}, {600, 88}, {2000, 1990}}) {
            int distance = positions[0] - positions[1];
            double expected = Math.pow(0.4 / 1.4, distance / 512.0) * Math.cos(distance);
            assertThat(rotatedScores(pe, x, x, positions[0], positions[1])[0])
                    .as("query at %d, key at %d", positions[0], positions[1]).isCloseTo(expected, within(1e-6));
        }
    }

    @Test
    void scoresDependOnlyOnTheRelativeOffset() {
        SplittableRandom rng = new SplittableRandom(12);
        Tensor q = Tensor.randn(rng, 2, 2, 6, 8);
        Tensor k = Tensor.randn(rng, 2, 2, 5, 8);
        for (XposPositionalEncoding pe : List.of(paper(), new XposPositionalEncoding(500, 4, 0.8, 128))) {
            double[] reference = rotatedScores(pe, q, k, 0, 0);
            double[] lagged = rotatedScores(pe, q, k, 4, 1);
            for (int shift : new int[] {1, 37, 1000}) {
                assertClose(pe + " shifted by " + shift, rotatedScores(pe, q, k, shift, shift), reference, 1e-5);
                assertClose(pe + " lagged, shifted by " + shift, rotatedScores(pe, q, k, 4 + shift, 1 + shift), lagged,
                        1e-5);
            }
        }
    }

    @Test
    void gradientsOfQueriesAndKeys() {
        SplittableRandom rng = new SplittableRandom(13);
        XposPositionalEncoding pe = new XposPositionalEncoding(100, 4, 0.4, 16);
        int[] queryShape = {2, 2, 3, 6};
        int[] keyShape = {2, 1, 4, 6};
        Tensor q = GradCheck.input(rng, queryShape);
        Tensor k = GradCheck.input(rng, keyShape);
        GradCheck.of("xpos query", in -> pe.rotateQueryKey(in[0], k.detach(), 9, 2)[0],
                ref -> reference(ref[0], queryShape, 9, 100, 4, 0.4, 16, false), q).check();
        GradCheck.of("xpos scores", in -> {
            Tensor[] out = pe.rotateQueryKey(in[0], in[1], 5, 2);
            // one key head for both query heads
            return out[0].matmul(out[1].expand(2, 2, 4, 6), false, true);
        }, ref -> scores(reference(ref[0], queryShape, 5, 100, 4, 0.4, 16, false), queryShape,
                reference(ref[1], keyShape, 2, 100, 4, 0.4, 16, true), keyShape), q, k).check();
    }

    @Test
    void incrementalDecodingWithCachedKeysMatchesTheFullForward() {
        assertIncrementalDecodingMatchesFullForward(new XposPositionalEncoding(10000, 0, 0.4, 4));
    }

    @Test
    void extrapolatesFarBeyondTrainingLengthsWithinTheFloatRange() {
        SplittableRandom rng = new SplittableRandom(14);
        XposPositionalEncoding pe = paper();
        Tensor q = Tensor.randn(rng, 1, 2, 65, 8);
        Tensor k = Tensor.randn(rng, 1, 2, 65, 8);
        // positions 10,000 … 10,064
        assertClose("scores", rotatedScores(pe, q, k, 10_000, 10_000), rotatedScores(pe, q, k, 0, 0), 1e-5);

        Tensor x = Tensor.zeros(1, 1, 2, 8);
        assertThatThrownBy(() -> pe.rotateQueryKey(x, x, 40_000, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("xpos: position 40000 needs the decay ζ_0^(40000/scaleBase) = ")
                .hasMessageContaining("below the float range; with gamma 0.4 and scaleBase 512.0 positions up to 35694 "
                        + "are supported (a larger scaleBase extends this)");
        assertThat(new XposPositionalEncoding(10000, 0, 0.4, 2048).rotateQueryKey(x, x, 40_000, 0)[0].shape())
                .containsExactly(1, 1, 2, 8);
    }

    @Test
    void rejectsHeadDimensionsItCannotRotate() {
        Tensor x = Tensor.zeros(1, 2, 3, 4);
        assertThatThrownBy(() -> new XposPositionalEncoding(10000, 6, 0.4, 512).rotateQueryKey(x, x, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("xpos: rotaryDim 6 must be even and at most headDim 4");
        Tensor odd = Tensor.zeros(1, 2, 3, 5);
        assertThatThrownBy(() -> paper().rotateQueryKey(odd, odd, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("xpos: rotaryDim 0 rotates the whole head, which needs an even headDim, "
                        + "got headDim 5");
    }

    @Test
    void providerConfiguresAndValidates() {
        XposPositionalEncodingProvider provider = new XposPositionalEncodingProvider();
        XposPositionalEncoding pe = provider.create(Map.of("base", "500", "rotaryDim", "4", "gamma", "0.2",
                "scaleBase", "64"));
        assertThat(pe.base()).isEqualTo(500);
        assertThat(pe.rotaryDim()).isEqualTo(4);
        assertThat(pe.gamma()).isEqualTo(0.2);
        assertThat(pe.scaleBase()).isEqualTo(64);
        Tensor x = Tensor.randn(new SplittableRandom(15), 1, 1, 3, 6);
        assertClose("configured", pe.rotateQueryKey(x, x, 8, 8)[1],
                reference(toDouble(x), x.shape(), 8, 500, 4, 0.2, 64, true), 1e-5);
        XposPositionalEncoding defaults = provider.create(Map.of());
        assertThat(defaults.base()).isEqualTo(10000);
        assertThat(defaults.rotaryDim()).isZero();
        assertThat(defaults.gamma()).isEqualTo(0.4);
        assertThat(defaults.scaleBase()).isEqualTo(512);
        assertThatThrownBy(() -> provider.create(Map.of("gamma", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("xpos.gamma = 0.0 is outside the valid range (0, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("scaleBase", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("xpos.scaleBase = -1.0 is outside the valid range (0, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("base", "0.5")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("xpos.base = 0.5 is outside the valid range (1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("interpolationFactor", "2")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'interpolationFactor' for xpos; valid options: base, rotaryDim, "
                        + "gamma, scaleBase");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new XposPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("xpos");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Sun et al., 2023, A Length-Extrapolatable Transformer");
        assertThat(d.hyperparameters()).extracting(Hyperparameter::name)
                .containsExactly("base", "rotaryDim", "gamma", "scaleBase");
        assertThat(d.hyperparameters().get(2)).isEqualTo(new Hyperparameter("gamma", "double", "0.4",
                "γ of the per-pair decay ζ_i = (2i/rotaryDim + γ)/(1 + γ).", false, "(0, +inf)", List.of()));
        assertThat(d.hyperparameters().get(3)).isEqualTo(new Hyperparameter("scaleBase", "double", "512.0",
                "Positions are divided by this before they become exponents of the decay ζ_i.", false, "(0, +inf)",
                List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", false), entry("attentionBias", false),
                entry("extrapolates", true), entry("learnable", false), entry("maximumLength", false),
                entry("rotatesQueryKey", true));
    }
}
