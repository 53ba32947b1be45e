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

class LearnedPositionalEncodingTest {

    private static LearnedPositionalEncoding encoding(int maxLength, int modelDim, long seed) {
        LearnedPositionalEncoding pe = new LearnedPositionalEncoding(maxLength, 0.02f);
        pe.initialize(modelDim, 1, new SplittableRandom(seed));
        return pe;
    }

    @Test
    void gradientsReachTheTableRowsInUse() {
        int maxLength = 6;
        int length = 3;
        int d = 4;
        int offset = 2;
        LearnedPositionalEncoding pe = encoding(maxLength, d, 1);
        Tensor x = GradCheck.input(new SplittableRandom(2), 2, length, d);
        // out[b, p, c] = x[b, p, c] + weight[offset + p, c]; input 1 is the table itself
        GradCheck.of("learned", in -> pe.addToEmbeddings(in[0], offset), ref -> {
            double[] out = ref[0].clone();
            for (int e = 0; e < out.length; e++) {
                int p = (e / d) % length;
                out[e] += ref[1][(offset + p) * d + e % d];
            }
            return out;
        }, x, pe.weight()).check();

        float[] grad = pe.weight().grad().toFloatArray();
        for (int row : new int[] {0, 1, 5}) {
            for (int c = 0; c < d; c++) {
                assertThat(grad[row * d + c]).as("gradient of unused row %d", row).isZero();
            }
        }
    }

    @Test
    void tableIsTheModuleParameter() {
        LearnedPositionalEncoding pe = encoding(512, 64, 3);
        assertThat(pe.namedParameters()).containsOnlyKeys("weight");
        Tensor weight = pe.namedParameters().get("weight");
        assertThat(weight).isSameAs(pe.weight());
        assertThat(weight.shape()).containsExactly(512, 64);
        assertThat(weight.requiresGrad()).isTrue();
        assertThat(pe.parameterCount()).isEqualTo(512L * 64);

        float[] w = weight.toFloatArray();
        double sum = 0;
        double squares = 0;
        for (float v : w) {
            sum += v;
            squares += (double) v * v;
        }
        double mean = sum / w.length;
        assertThat(mean).isCloseTo(0, within(1e-3));
        assertThat(Math.sqrt(squares / w.length - mean * mean)).isCloseTo(0.02, within(1e-3));
        assertThat(encoding(512, 64, 3).weight().toFloatArray()).containsExactly(w);
    }

    @Test
    void rejectsPositionsBeyondMaxLength() {
        LearnedPositionalEncoding pe = encoding(4, 2, 4);
        assertThat(pe.addToEmbeddings(Tensor.zeros(1, 2, 2), 2).shape()).containsExactly(1, 2, 2);
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 3, 2), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("learned: positions 2 to 4 (length 3 at offset 2) exceed maxLength 4");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 5, 2), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(length 5 at offset 0) exceed maxLength 4");
    }

    @Test
    void mustBeInitializedOnce() {
        LearnedPositionalEncoding pe = new LearnedPositionalEncoding(8, 0.02f);
        assertThat(pe.weight()).isNull();
        assertThat(pe.namedParameters()).isEmpty();
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 4), 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("learned: initialize(modelDim, heads, rng) must be called before use");
        pe.initialize(4, 1, new SplittableRandom(5));
        assertThatThrownBy(() -> pe.initialize(4, 1, new SplittableRandom(5)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("learned: already initialized with modelDim 4");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 3), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embeddings must be [batch, length, modelDim = 4], got [1, 2, 3]");
    }

    @Test
    void providerConfiguresAndValidates() {
        LearnedPositionalEncodingProvider provider = new LearnedPositionalEncodingProvider();
        LearnedPositionalEncoding pe = provider.create(Map.of("maxLength", "16"));
        assertThat(pe.maxLength()).isEqualTo(16);
        pe.initialize(3, 1, new SplittableRandom(6));
        assertThat(pe.weight().shape()).containsExactly(16, 3);
        assertThat(provider.create(Map.of()).maxLength()).isEqualTo(512);
        assertThatThrownBy(() -> provider.create(Map.of("maxLength", "0")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("learned.maxLength = 0 is outside the valid range [1, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("initStd", "-0.5")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("learned.initStd = -0.5 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("length", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'length' for learned; valid options: maxLength, initStd");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new LearnedPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("learned");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Gehring et al., 2017, Convolutional Sequence to Sequence Learning");
        assertThat(d.hyperparameters()).containsExactly(
                new Hyperparameter("maxLength", "int", "512",
                        "Number of positions with a learned vector; longer inputs are rejected.", false, "[1, +inf)",
                        List.of()),
                new Hyperparameter("initStd", "float", "0.02",
                        "Standard deviation of the normal initialisation of the table.", false, "[0, +inf)",
                        List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", true), entry("attentionBias", false), entry("extrapolates", false),
                entry("learnable", true), entry("maximumLength", true), entry("rotatesQueryKey", false));
    }
}
