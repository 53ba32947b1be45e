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
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.Hyperparameter;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

class AxialPositionalEncodingTest {

    private static AxialPositionalEncoding encoding(String shape, String dims, int modelDim, long seed) {
        AxialPositionalEncoding pe = new AxialPositionalEncoding(shape, dims, 1f);
        pe.initialize(modelDim, 1, new SplittableRandom(seed));
        return pe;
    }

    /** Row {@code row} of the [rows, width] table of {@code axis}. */
    private static float[] row(AxialPositionalEncoding pe, int axis, int row) {
        Tensor table = pe.table(axis);
        int width = table.size(1);
        float[] out = new float[width];
        System.arraycopy(table.toFloatArray(), row * width, out, 0, width);
        return out;
    }

    /** The axis rows at {@code coordinates}, concatenated. */
    private static float[] concatenatedRows(AxialPositionalEncoding pe, int... coordinates) {
        float[][] parts = new float[coordinates.length][];
        int total = 0;
        for (int a = 0; a < coordinates.length; a++) {
            parts[a] = row(pe, a, coordinates[a]);
            total += parts[a].length;
        }
        float[] out = new float[total];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    /** Row {@code position - offset} of the encoding of zeros [1, length, d] at {@code offset}. */
    private static float[] embeddingAt(AxialPositionalEncoding pe, int length, int offset, int position) {
        int d = Arrays.stream(pe.dims()).sum();
        float[] out = pe.addToEmbeddings(Tensor.zeros(1, length, d), offset).toFloatArray();
        float[] rowOut = new float[d];
        System.arraycopy(out, (position - offset) * d, rowOut, 0, d);
        return rowOut;
    }

    @Test
    void embeddingIsTheConcatenationOfTheAxisRowsOfTheCoordinates() {
        // shape 3x4, dims 2+3: position p has coordinates (p / 4, p % 4)
        AxialPositionalEncoding pe = encoding("3x4", "2x3", 5, 1);
        assertThat(pe.dims()).containsExactly(2, 3);
        assertThat(embeddingAt(pe, 12, 0, 0)).containsExactly(concatenatedRows(pe, 0, 0));
        assertThat(embeddingAt(pe, 12, 0, 3)).containsExactly(concatenatedRows(pe, 0, 3));
        assertThat(embeddingAt(pe, 12, 0, 4)).containsExactly(concatenatedRows(pe, 1, 0));
        assertThat(embeddingAt(pe, 12, 0, 7)).containsExactly(concatenatedRows(pe, 1, 3));
        assertThat(embeddingAt(pe, 12, 0, 11)).containsExactly(concatenatedRows(pe, 2, 3));
        // with offsets: the same positions give the same vectors
        assertThat(embeddingAt(pe, 3, 5, 5)).containsExactly(concatenatedRows(pe, 1, 1));
        assertThat(embeddingAt(pe, 3, 5, 7)).containsExactly(concatenatedRows(pe, 1, 3));
        assertThat(embeddingAt(pe, 1, 9, 9)).containsExactly(concatenatedRows(pe, 2, 1));
        assertThat(embeddingAt(pe, 2, 10, 11)).containsExactly(concatenatedRows(pe, 2, 3));
    }

    @Test
    void threeAxesAreRowMajor() {
        // shape 2x3x4: p = 12·c0 + 4·c1 + c2; modelDim 7 split equally as 2, 2, 3
        AxialPositionalEncoding pe = encoding("2x3x4", "", 7, 2);
        assertThat(pe.dims()).containsExactly(2, 2, 3);
        assertThat(embeddingAt(pe, 24, 0, 6)).containsExactly(concatenatedRows(pe, 0, 1, 2));
        assertThat(embeddingAt(pe, 24, 0, 17)).containsExactly(concatenatedRows(pe, 1, 1, 1));
        assertThat(embeddingAt(pe, 4, 20, 23)).containsExactly(concatenatedRows(pe, 1, 2, 3));
        assertThat(embeddingAt(pe, 2, 12, 12)).containsExactly(concatenatedRows(pe, 1, 0, 0));
    }

    @Test
    void addsToTheEmbeddingsWithGradientsOnlyForTheRowsUsed() {
        int length = 3;
        int offset = 5;
        // shape 3x4, dims 2+3: positions 5, 6, 7 are (1, 1), (1, 2), (1, 3)
        AxialPositionalEncoding pe = encoding("3x4", "2x3", 5, 3);
        Tensor x = GradCheck.input(new SplittableRandom(4), 2, length, 5);
        // out[b, p, c] = x[b, p, c] + (c < 2 ? axis0[(offset + p) / 4, c] : axis1[(offset + p) % 4, c - 2]);
        // inputs 1 and 2 are the tables
        GradCheck.of("axial", in -> pe.addToEmbeddings(in[0], offset), ref -> {
            double[] out = ref[0].clone();
            for (int e = 0; e < out.length; e++) {
                int position = offset + (e / 5) % length;
                int c = e % 5;
                out[e] += c < 2 ? ref[1][(position / 4) * 2 + c] : ref[2][(position % 4) * 3 + c - 2];
            }
            return out;
        }, x, pe.table(0), pe.table(1)).check();

        float[] grad0 = pe.table(0).grad().toFloatArray();
        float[] grad1 = pe.table(1).grad().toFloatArray();
        for (int row : new int[] {0, 2}) {
            for (int c = 0; c < 2; c++) {
                assertThat(grad0[row * 2 + c]).as("gradient of unused axis0 row %d", row).isZero();
            }
        }
        for (int c = 0; c < 3; c++) {
            assertThat(grad1[c]).as("gradient of unused axis1 row 0").isZero();
        }
        assertThat(grad0[2]).as("gradient of used axis0 row 1").isNotZero();
        assertThat(grad1[3]).as("gradient of used axis1 row 1").isNotZero();
    }

    @Test
    void parameterCountIsTheSumOverAxesNotTheProduct() {
        AxialPositionalEncoding pe = encoding("512x1024", "256x256", 512, 5);
        assertThat(pe.maxLength()).isEqualTo(524_288);
        assertThat(pe.parameterCount()).isEqualTo(512L * 256 + 1024L * 256)
                .isLessThan(524_288L * 512);

        float[] w = pe.table(1).toFloatArray();
        double sum = 0;
        double squares = 0;
        for (float v : w) {
            sum += v;
            squares += (double) v * v;
        }
        double mean = sum / w.length;
        assertThat(mean).isCloseTo(0, within(0.01));
        assertThat(Math.sqrt(squares / w.length - mean * mean)).as("initStd 1").isCloseTo(1, within(0.01));

        // the last positions of the grid: (511, 1022) and (511, 1023)
        float[] last = pe.addToEmbeddings(Tensor.zeros(1, 2, 512), 524_286).toFloatArray();
        float[] expected = concatenatedRows(pe, 511, 1023);
        for (int c = 0; c < 512; c++) {
            assertThat(last[512 + c]).isEqualTo(expected[c]);
        }
    }

    @Test
    void tablesAreTheModuleParameters() {
        AxialPositionalEncoding pe = encoding("2x3x4", "1x2x3", 6, 6);
        assertThat(pe.namedParameters()).containsOnlyKeys("axis0", "axis1", "axis2");
        assertThat(pe.namedParameters().get("axis0")).isSameAs(pe.table(0));
        assertThat(pe.stateDict().get("axis0").shape()).containsExactly(2, 1);
        assertThat(pe.stateDict().get("axis1").shape()).containsExactly(3, 2);
        assertThat(pe.stateDict().get("axis2").shape()).containsExactly(4, 3);
        assertThat(pe.table(2).requiresGrad()).isTrue();
        assertThat(encoding("2x3x4", "1x2x3", 6, 6).table(2).toFloatArray())
                .containsExactly(pe.table(2).toFloatArray());
    }

    @Test
    void rejectsPositionsBeyondTheGrid() {
        AxialPositionalEncoding pe = encoding("2x4", "", 4, 7);
        assertThat(pe.addToEmbeddings(Tensor.zeros(1, 3, 4), 5).shape()).containsExactly(1, 3, 4);
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 3, 4), 6))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("axial: positions 6 to 8 (length 3 at offset 6) exceed the 8 positions of shape 2x4");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 9, 4), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(length 9 at offset 0) exceed the 8 positions of shape 2x4; configure a larger shape");
    }

    @Test
    void mustBeInitializedOnceWithAMatchingWidth() {
        AxialPositionalEncoding pe = new AxialPositionalEncoding("2x4", "1x3", 1f);
        assertThat(pe.table(0)).isNull();
        assertThat(pe.dims()).isNull();
        assertThat(pe.namedParameters()).isEmpty();
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 4), 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("axial: initialize(modelDim, heads, rng) must be called before use");
        assertThatThrownBy(() -> pe.initialize(6, 1, new SplittableRandom(8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("axial: dims = 1x3 sums to 4, but modelDim is 6");
        assertThat(pe.namedParameters()).isEmpty();
        pe.initialize(4, 1, new SplittableRandom(8));
        assertThatThrownBy(() -> pe.initialize(4, 1, new SplittableRandom(8)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("axial: already initialized with modelDim 4");
        assertThatThrownBy(() -> pe.addToEmbeddings(Tensor.zeros(1, 2, 3), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embeddings must be [batch, length, modelDim = 4], got [1, 2, 3]");
        assertThatThrownBy(() -> new AxialPositionalEncoding("2x2x2", "", 1f).initialize(2, 1, new SplittableRandom(8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("axial: modelDim 2 cannot be split over the 3 axes of shape 2x2x2");
    }

    @Test
    void providerConfiguresAndValidates() {
        AxialPositionalEncodingProvider provider = new AxialPositionalEncodingProvider();
        AxialPositionalEncoding pe = provider.create(Map.of("shape", "4 x 8", "dims", "3x5", "initStd", "0.5"));
        assertThat(pe.shape()).containsExactly(4, 8);
        assertThat(pe.maxLength()).isEqualTo(32);
        pe.initialize(8, 1, new SplittableRandom(9));
        assertThat(pe.dims()).containsExactly(3, 5);
        assertThat(pe.table(0).shape()).containsExactly(4, 3);
        assertThat(pe.table(1).shape()).containsExactly(8, 5);

        AxialPositionalEncoding defaults = provider.create(Map.of());
        assertThat(defaults.shape()).containsExactly(64, 64);
        defaults.initialize(9, 1, new SplittableRandom(9));
        assertThat(defaults.dims()).as("equal split, remainder last").containsExactly(4, 5);
        AxialPositionalEncoding emptyDims = provider.create(Map.of("shape", "2x2x2", "dims", ""));
        emptyDims.initialize(8, 1, new SplittableRandom(9));
        assertThat(emptyDims.dims()).containsExactly(2, 2, 4);

        assertThatThrownBy(() -> provider.create(Map.of("shape", "0x4")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.shape = 0x4: size 0 of axis 0 must be >= 1");
        assertThatThrownBy(() -> provider.create(Map.of("shape", "abc")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.shape = abc is not a list of sizes separated by 'x', like 64x128");
        assertThatThrownBy(() -> provider.create(Map.of("shape", "64x")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.shape = 64x is not a list of sizes");
        assertThatThrownBy(() -> provider.create(Map.of("shape", "4096")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.shape = 4096 has 1 axis; give at least 2");
        assertThatThrownBy(() -> provider.create(Map.of("shape", "65536x65536")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.shape = 65536x65536 has more than 2147483647 positions");
        assertThatThrownBy(() -> provider.create(Map.of("shape", "4x8", "dims", "2x2x4")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.dims = 2x2x4 has 3 widths but axial.shape = 4x8 has 2 axes");
        assertThatThrownBy(() -> provider.create(Map.of("dims", "8x-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.dims = 8x-1: size -1 of axis 1 must be >= 1");
        assertThatThrownBy(() -> provider.create(Map.of("initStd", "-1")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("axial.initStd = -1.0 is outside the valid range [0, +inf)");
        assertThatThrownBy(() -> provider.create(Map.of("maxLength", "8")))
                .isInstanceOf(PropertyException.class)
                .hasMessageContaining("unknown option 'maxLength' for axial; valid options: shape, dims, initStd");
    }

    @Test
    void descriptor() {
        ComponentDescriptor d = new AxialPositionalEncodingProvider().descriptor();
        assertThat(d.name()).isEqualTo("axial");
        assertThat(d.kind()).isEqualTo(ComponentKind.POSITIONAL);
        assertThat(d.reference()).isEqualTo("Kitaev, Kaiser and Levskaya, 2020, Reformer: The Efficient Transformer");
        assertThat(d.hyperparameters()).containsExactly(
                new Hyperparameter("shape", "String", "64x64",
                        "Grid the positions are factorised into, at least 2 axes, e.g. 64x128 for 8192 positions "
                                + "with position p at row-major coordinates (p / 128, p % 128); longer inputs are rejected.",
                        false, "", List.of()),
                new Hyperparameter("dims", "String", "",
                        "Width of each axis table, one per axis of shape and summing to modelDim, e.g. 32x96; "
                                + "empty splits modelDim equally with the remainder on the last axis.",
                        false, "", List.of()),
                new Hyperparameter("initStd", "float", "1.0",
                        "Standard deviation of the normal initialisation of the axis tables.", false, "[0, +inf)",
                        List.of()));
        assertThat(d.capabilityMap()).containsOnly(entry("addsToEmbeddings", true), entry("attentionBias", false),
                entry("extrapolates", false), entry("learnable", true), entry("maximumLength", true),
                entry("rotatesQueryKey", false));
    }
}
