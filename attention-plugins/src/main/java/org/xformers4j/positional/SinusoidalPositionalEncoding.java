package org.xformers4j.positional;

import com.oracle.labs.mlrg.olcut.config.Config;
import java.util.random.RandomGenerator;
import org.xformers4j.component.ComponentInfo;
import org.xformers4j.component.Range;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.Tensor;

/**
 * The fixed sinusoidal position encoding of Vaswani et al., 2017, "Attention Is All You Need"
 * (§3.5), added to the token embeddings:
 * <pre>
 *   PE(pos, 2i)   = sin(pos / base^(2i / d))
 *   PE(pos, 2i+1) = cos(pos / base^(2i / d))
 * </pre>
 * with d the model width and base 10000 in the paper. Defined for every position, so any length
 * and offset work; nothing is learned. With an odd width the last column is the sine of the last
 * pair, {@code i = (d - 1) / 2}.
 *
 * <p>The values are computed in double precision and rounded to float. The rows of the last call
 * are kept, so a training loop at one length computes the table once.
 */
@ComponentInfo(name = "sinusoidal",
        summary = "Fixed sine and cosine position vectors at geometric frequencies, added to the embeddings",
        reference = "Vaswani et al., 2017, Attention Is All You Need")
@PositionalCapabilities(addsToEmbeddings = true, learnable = false, extrapolates = true)
public final class SinusoidalPositionalEncoding implements PositionalEncoding {

    private static final String NAME = "sinusoidal";

    @Config(description = "Base of the geometric progression of wavelengths, from 2π to base·2π.")
    @Range(min = 1, minInclusive = false, maxInclusive = false)
    private double base = 10000;

    private int modelDim;

    /** The rows last handed out, reused while callers ask for the same positions. */
    private volatile Rows cached;

    private record Rows(int offset, int length, ComputeBackend backend, Tensor values) {
    }

    /** For OLCUT. */
    private SinusoidalPositionalEncoding() {
    }

    /** An encoding with wavelengths up to {@code base}·2π (10000 in the paper). */
    public SinusoidalPositionalEncoding(double base) {
        this.base = base;
        postConfig();
    }

    @Override
    public void initialize(int modelDim, int heads, RandomGenerator rng) {
        this.modelDim = EmbeddingArgs.modelDim(NAME, modelDim);
        this.cached = null;
    }

    /** {@code embeddings} [batch, length, modelDim] + PE[offset … offset + length). */
    @Override
    public Tensor addToEmbeddings(Tensor embeddings, int offset) {
        EmbeddingArgs.check(NAME, embeddings, offset, modelDim);
        return embeddings.add(rows(offset, embeddings.size(1), embeddings.backend()));
    }

    /** PE[offset … offset + length) as [length, modelDim] on {@code backend}. */
    private Tensor rows(int offset, int length, ComputeBackend backend) {
        Rows last = cached;
        if (last == null || last.offset != offset || last.length != length || last.backend != backend) {
            last = new Rows(offset, length, backend, Tensor.of(backend, table(offset, length), length, modelDim));
            cached = last;
        }
        return last.values;
    }

    /** The encoding of positions offset … offset + length - 1, row-major. */
    private float[] table(int offset, int length) {
        double[] frequency = new double[(modelDim + 1) / 2];
        for (int i = 0; i < frequency.length; i++) {
            frequency[i] = Math.pow(base, -2.0 * i / modelDim);
        }
        float[] out = new float[length * modelDim];
        for (int p = 0; p < length; p++) {
            double position = (double) offset + p;
            for (int c = 0; c < modelDim; c++) {
                double angle = position * frequency[c / 2];
                out[p * modelDim + c] = (float) (c % 2 == 0 ? Math.sin(angle) : Math.cos(angle));
            }
        }
        return out;
    }

    /** The base of the wavelengths. */
    public double base() {
        return base;
    }

    @Override
    public String toString() {
        return "SinusoidalPositionalEncoding(base=" + base + ", modelDim=" + modelDim + ")";
    }
}
