package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.nn.Init;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * Axial position embeddings of Reformer (Kitaev, Kaiser and Levskaya, 2020, "Reformer: The
 * Efficient Transformer"; introduced in the authors' trax code and documented with Hugging Face's
 * {@code ReformerModel}, options {@code axial_pos_shape} and {@code axial_pos_embds_dim}; also
 * lucidrains' axial-positional-embedding): learned position vectors whose table is factorised
 * over a grid.
 *
 * <p>The positions 0 … n₀·n₁·…·n_{k-1} - 1 are laid out row-major on a grid of {@code shape}
 * n₀ × n₁ × … (k ≥ 2 axes), so position p has coordinates
 * <pre>
 *   c_a(p) = (p / s_a) mod n_a,   s_a = n_{a+1} · … · n_{k-1}
 * </pre>
 * (for two axes, (p / n₁, p mod n₁)). Axis a has its own trainable table {@code axis}a [n_a, d_a],
 * with the widths {@code dims} d₀ + … + d_{k-1} = modelDim, and the embedding of p is
 * <pre>
 *   E(p) = concat_a axis_a[c_a(p)]        (d₀ + … + d_{k-1} = modelDim columns)
 * </pre>
 * added to the token embedding at p. The parameter count is Σ_a n_a·d_a instead of the
 * (Π_a n_a)·modelDim of a {@linkplain LearnedPositionalEncoding learned} table: 512 × 1024 = 524,288
 * positions with dims 256 × 256 take 393,216 parameters instead of 268 million. Positions at or
 * beyond Π_a n_a have no coordinates and are rejected.
 *
 * <p>Rows are gathered with {@link Functional#embedding}, so gradients reach only the rows of the
 * positions used, for any offset and length (Hugging Face broadcasts the whole grid in training
 * and so needs the sequence to fill it). Tables are created by
 * {@link #initialize(int, int, RandomGenerator)} with N(0, initStd²) entries, std 1 by default as
 * Hugging Face's {@code axial_norm_std} and lucidrains' {@code normal_(0, 1)}.
 */
@ComponentInfo(name = "axial",
        summary = "Reformer's factorised learned positions: one table per axis of a position grid, concatenated",
        reference = "Kitaev, Kaiser and Levskaya, 2020, Reformer: The Efficient Transformer")
@PositionalCapabilities(addsToEmbeddings = true, learnable = true, maximumLength = true, extrapolates = false)
public final class AxialPositionalEncoding extends Module implements PositionalEncoding {

    private static final String NAME = "axial";

    @Config(description = "Grid the positions are factorised into, at least 2 axes, e.g. 64x128 for 8192 positions "
            + "with position p at row-major coordinates (p / 128, p % 128); longer inputs are rejected.")
    private String shape = "64x64";

    @Config(description = "Width of each axis table, one per axis of shape and summing to modelDim, e.g. 32x96; "
            + "empty splits modelDim equally with the remainder on the last axis.")
    private String dims = "";

    @Config(description = "Standard deviation of the normal initialisation of the axis tables.")
    @Range(min = 0, maxInclusive = false)
    private float initStd = 1f;

    /** n_a, parsed from {@link #shape}. */
    private int[] axisSizes;
    /** s_a = n_{a+1} · … · n_{k-1}, the position step between consecutive rows of axis a. */
    private int[] strides;
    /** Π_a n_a, at most Integer.MAX_VALUE. */
    private int positions;
    /** d_a parsed from {@link #dims}, or null for the equal split. */
    private int[] configuredDims;

    private int modelDim;
    /** d_a resolved against modelDim by initialize. */
    private int[] axisDims;
    /** axis_a [n_a, d_a]; null before initialize. */
    private Tensor[] tables;

    /** For OLCUT. */
    private AxialPositionalEncoding() {
    }

    /**
     * An encoding over the grid {@code shape} (e.g. "64x128") with axis widths {@code dims} (e.g.
     * "32x96", or "" for an equal split), initialised N(0, initStd²).
     */
    public AxialPositionalEncoding(String shape, String dims, float initStd) {
        this.shape = shape;
        this.dims = dims;
        this.initStd = initStd;
        postConfig();
    }

    /** Checks the ranges, parses shape and dims and checks they have the same number of axes. */
    @Override
    public void postConfig() {
        PositionalEncoding.super.postConfig();
        int[] sizes = parseAxes("shape", shape);
        if (sizes.length < 2) {
            throw new PropertyException(NAME, "shape", NAME + ".shape = " + shape
                    + " has 1 axis; give at least 2, like 64x128");
        }
        int[] steps = new int[sizes.length];
        long product = 1;
        for (int a = sizes.length - 1; a >= 0; a--) {
            steps[a] = (int) product;
            product *= sizes[a];
            if (product > Integer.MAX_VALUE) {
                throw new PropertyException(NAME, "shape", NAME + ".shape = " + shape
                        + " has more than " + Integer.MAX_VALUE + " positions");
            }
        }
        int[] split = dims.isBlank() ? null : parseAxes("dims", dims);
        if (split != null && split.length != sizes.length) {
            throw new PropertyException(NAME, "dims", NAME + ".dims = " + dims + " has " + split.length
                    + " widths but " + NAME + ".shape = " + shape + " has " + sizes.length + " axes");
        }
        this.axisSizes = sizes;
        this.strides = steps;
        this.positions = (int) product;
        this.configuredDims = split;
    }

    /** "64x128" → {64, 128}: positive integers separated by 'x'; errors name {@code field} and its text. */
    private static int[] parseAxes(String field, String text) {
        String[] parts = text.trim().split("\\s*[xX]\\s*", -1);
        int[] out = new int[parts.length];
        for (int a = 0; a < parts.length; a++) {
            try {
                out[a] = Integer.parseInt(parts[a]);
            } catch (NumberFormatException e) {
                throw new PropertyException(NAME, field, NAME + "." + field + " = " + text
                        + " is not a list of sizes separated by 'x', like 64x128");
            }
            if (out[a] < 1) {
                throw new PropertyException(NAME, field, NAME + "." + field + " = " + text + ": size " + out[a]
                        + " of axis " + a + " must be >= 1");
            }
        }
        return out;
    }

    /** Creates and registers the tables axis0 [n₀, d₀], axis1 [n₁, d₁], …; once only. */
    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        if (tables != null) {
            throw new IllegalStateException(NAME + ": already initialized with modelDim " + this.modelDim);
        }
        int dim = EmbeddingArgs.modelDim(NAME, modelDim);
        int[] widths = resolveDims(dim);
        Tensor[] created = new Tensor[axisSizes.length];
        for (int a = 0; a < created.length; a++) {
            created[a] = registerParameter("axis" + a, Init.normal(rng, 0f, initStd, axisSizes[a], widths[a]));
        }
        this.tables = created;
        this.axisDims = widths;
        this.modelDim = dim;
    }

    /** The configured widths, which must sum to modelDim, or modelDim split equally with the remainder last. */
    private int[] resolveDims(int modelDim) {
        int axes = axisSizes.length;
        if (configuredDims == null) {
            if (modelDim < axes) {
                throw new IllegalArgumentException(NAME + ": modelDim " + modelDim + " cannot be split over the "
                        + axes + " axes of shape " + shapeText() + "; each axis needs at least 1 column");
            }
            int[] out = new int[axes];
            Arrays.fill(out, modelDim / axes);
            out[axes - 1] += modelDim % axes;
            return out;
        }
        long sum = 0;
        for (int width : configuredDims) {
            sum += width;
        }
        if (sum != modelDim) {
            throw new IllegalArgumentException(NAME + ": dims = " + dims + " sums to " + sum + ", but modelDim is "
                    + modelDim + "; the axis widths must sum to modelDim");
        }
        return configuredDims.clone();
    }

    /** {@code embeddings} [batch, length, modelDim] + E(offset … offset + length). */
    @Override
    public Tensor addToEmbeddings(Tensor embeddings, int offset) {
        EmbeddingArgs.check(NAME, embeddings, offset, modelDim);
        int length = embeddings.size(1);
        EmbeddingArgs.checkWithin(NAME, offset, length, positions,
                "the " + positions + " positions of shape " + shapeText(), "shape");
        Tensor[] rows = new Tensor[tables.length];
        for (int a = 0; a < tables.length; a++) {
            int[] coordinates = new int[length];
            for (int p = 0; p < length; p++) {
                coordinates[p] = (offset + p) / strides[a] % axisSizes[a];
            }
            rows[a] = Functional.embedding(tables[a], coordinates, length); // [length, d_a]
        }
        return embeddings.add(Tensor.concat(1, rows)); // + [length, modelDim]
    }

    private String shapeText() {
        return Arrays.stream(axisSizes).mapToObj(Integer::toString).collect(Collectors.joining("x"));
    }

    /** The grid sizes n₀, n₁, …. */
    public int[] shape() {
        return axisSizes.clone();
    }

    /** The table widths d₀, d₁, …; null before {@link #initialize(int, int, RandomGenerator)}. */
    public int[] dims() {
        return axisDims == null ? null : axisDims.clone();
    }

    /** The number of positions, Π_a n_a; longer inputs are rejected. */
    public int maxLength() {
        return positions;
    }

    /** The table of {@code axis}, [n_axis, d_axis]; null before {@link #initialize(int, int, RandomGenerator)}. */
    public Tensor table(int axis) {
        return tables == null ? null : tables[axis];
    }

    @Override
    public String toString() {
        return "AxialPositionalEncoding(shape=" + shapeText() + ", dims="
                + (axisDims == null ? (configuredDims == null ? "equal" : dims) : Arrays.toString(axisDims))
                + ", modelDim=" + modelDim + ")";
    }
}
