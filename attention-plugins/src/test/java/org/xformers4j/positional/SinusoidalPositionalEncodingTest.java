package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

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

class SinusoidalPositionalEncodingTest {

    /** PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(pos / base^(2i/d)), in double. */
    private static double formula(double base, int d, long position, int column) {
        int i = column / 2;
        double angle = position / Math.pow(base, 2.0 * i / d);
        return column % 2 == 0 ? Math.sin(angle) : Math.cos(angle);
    }

    private static SinusoidalPositionalEncoding encoding(double base, int modelDim) {
        SinusoidalPositionalEncoding pe = new SinusoidalPositionalEncoding(base);
        pe.initialize(modelDim, 1, new SplittableRandom(0));
        return pe;
    }

    private static void assertMatchesFormula(SinusoidalPositionalEncoding pe, double base, int batch, int length,
                                             int d, int offset) {
        Tensor out = pe.addToEmbeddings(Tensor.zeros(batch, length, d), offset);
        assertThat(out.shape()).containsExactly(batch, length, d);
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < length; p++) {
                for (int c = 0; c < d; c++) {
                    assertThat((double) out.get(b, p, c)).as("batch %d position %d column %d", b, offset + p, c)
                            .isCloseTo(formula(base, d, offset + p, c), within(1e-6));
                }
            }
        }
    }

    @Test
    void valuesFollowTheFormula() {
        assertMatchesFormula(encoding(10000, 16), 10000, 2, 12, 16, 0);
        assertMatchesFormula(encoding(100, 6), 100, 1, 5, 6, 0);
    }

    @Test
    void oddWidthEndsWithASine() {
        assertMatchesFormula(encoding(10000, 5), 10000, 1, 7, 5, 0);
    }

    @Test
    void offsetsSelectLaterPositions() {
        SinusoidalPositionalEncoding pe = encoding(10000, 8);
        assertMatchesFormula(pe, 10000, 1, 4, 8, 0);
        assertMatchesFormula(pe, 10000, 2, 4, 8, 9);
        assertMatchesFormula(pe, 10000, 1, 1, 8, 9);
        assertMatchesFormula(pe, 10000, 1, 3, 8, 0);
        // no maximum length
        assertMatchesFormula(pe, 10000, 1, 2, 8, 1_000_000);
    }

    @Test
    void addsToTheEmbeddingsWithGradients() {
        int length = 3;
        int d = 4;
        int offset = 2;
        SinusoidalPositionalEncoding pe = encoding(10000, d);
        GradCheck.of("sinusoidal", in -> pe.addToEmbeddings(in[0], offset), ref -> {
            double[] out = ref[0].clone();
            for (int e = 0; e < out.length; e++) {
                int p = (e / d) % length;
                out[e] += formula(10000, d, offset + p, e % d);
            }
            return out;
        }, GradCheck.input(new SplittableRandom(1), 2, length, d)).check();
    }

    @Test
    void rejectsMisuse() {
        SinusoidalPositionalEncoding fresh = new SinusoidalPositionalEncoding(10000);
        assertThatThrownBy(() -> fresh.addToEmbeddings(Tensor.zeros(1, 2, 4), 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sinusoidal: initialize(modelDim, heads, rng) must be called before use");
        assertThatThrownBy(() -> fresh.initialize(0, 1, new SplittableRandom(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelDim must be positive, got 0");
        SinusoidalPositionalEncoding pe = encoding(10000, 4);
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 6), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embeddings must be [batch, length, modelDim = 4], got [1, 2, 6]");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(2, 4), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got [2, 4]");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 4), -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offset must be >= 0, got -1");
    }

    @Test
    void providerConfiguresAndValidates() {
        SinusoidalPositionalEncodingProvider provider = new SinusoidalPositionalEncodingProvider();
        assertThat(provider.create(Map.of("base", "500")).base()).isEqualTo(500);
        assertThat(provider.create(Map.of()).base()).isEqualTo(10000);
        assertThatThrownBy(() -> provider.create(Map.of("base", "1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("sinusoidal.base = 1.0 is outside the valid range (1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("maxLength", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'maxLength' for sinusoidal; valid options: base");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new SinusoidalPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("sinusoidal");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Vaswani et al., 2017, Attention Is All You Need");
        assertThat(d.hyperparameters()).containsExactly(new Hyperparameter("base", "double", "10000.0",
                "Base of the geometric progression of wavelengths, from 2π to base·2π.", false, "(1, +inf)",
                List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", true), entry("attentionBias", false), entry("extrapolates", true),
                entry("learnable", false), entry("maximumLength", false), entry("rotatesQueryKey", false));
    }
}
