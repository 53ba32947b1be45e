package org.xformers4j.positional;

import java.util.Arrays;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.Tensor;

/**
 * The rotary rotation of queries and keys shared by {@link RotaryPositionalEncoding} and {@link
 * XposPositionalEncoding} (Su et al., 2021, "RoFormer: Enhanced Transformer with Rotary Position
 * Embedding"), optionally scaled per pair and position as xPos does.
 *
 * <p>The first {@code rotaryDim} dimensions of each head vector are rotated and the rest pass
 * through unchanged. Dimensions are paired in the GPT-NeoX / Llama "rotate half" layout: pair
 * {@code i} is (x[i], x[i + rotaryDim/2]) for {@code i < rotaryDim/2}, not the interleaved
 * (x[2i], x[2i+1]) of the RoFormer paper; the two layouts are the same encoding up to a fixed
 * permutation of the head dimensions, which the projections absorb, but checkpoints are not
 * interchangeable. At position p, pair i turns by the angle p/interpolationFactor · θ_i with
 * θ_i = base^(−2i/rotaryDim), and is multiplied by a factor s(p, i) (1 for plain rotary):
 * <pre>
 *   x'[i]              = s · (x[i] · cos(pθ_i) − x[i + rotaryDim/2] · sin(pθ_i))
 *   x'[i + rotaryDim/2] = s · (x[i + rotaryDim/2] · cos(pθ_i) + x[i] · sin(pθ_i))
 * </pre>
 * i.e. {@code x·cos + rotate_half(x)·sin} of the PyTorch implementations. Queries use s and keys
 * 1/s, so with s = ζ_i^(p/scaleBase) a query–key score depends only on the positions' difference.
 *
 * <p>cos·s and sin·s are computed on the host in double for the positions of a call, uploaded as
 * [length, rotaryDim/2] and broadcast over batch and heads (so keys may have fewer heads than
 * queries); the rotation itself is narrow/mul/sub/add/concat, differentiable in the queries and
 * keys. The last query and key tables are kept, since every layer of a model asks for the same
 * positions.
 */
final class Rotation {

    /**
     * The factor s(p, i) of pair i of {@code rotaryDim} at (interpolated) position p for queries;
     * keys take 1/s.
     */
    @FunctionalInterface
    interface Scale {
        double queryFactor(int pair, int rotaryDim, double position);
    }

    private final String encoding;
    private final double base;
    private final int rotaryDim;
    private final double interpolationFactor;
    /** null for a plain rotation, whose query and key tables coincide. */
    private final Scale scale;

    private volatile Table lastQuery;
    private volatile Table lastKey;

    /** cos·s and sin·s [length, rotaryDim/2] for positions offset … offset + length - 1. */
    private record Table(int offset, int length, int rotaryDim, boolean key, ComputeBackend backend,
                         Tensor cos, Tensor sin) {

        boolean matches(int offset, int length, int rotaryDim, boolean key, ComputeBackend backend) {
            return this.offset == offset && this.length == length && this.rotaryDim == rotaryDim
                    && this.key == key && this.backend == backend;
        }
    }

    /**
     * A rotation for {@code encoding} (named in messages) with angles base^(−2i/rotaryDim) at
     * positions divided by {@code interpolationFactor}; {@code rotaryDim} 0 rotates whole heads;
     * {@code scale} null for none.
     */
    Rotation(String encoding, double base, int rotaryDim, double interpolationFactor, Scale scale) {
        this.encoding = encoding;
        this.base = base;
        this.rotaryDim = rotaryDim;
        this.interpolationFactor = interpolationFactor;
        this.scale = scale;
    }

    /**
     * Queries [batch, heads, queryLength, headDim] at positions from {@code queryOffset} and keys
     * [batch, keyHeads, keyLength, headDim] from {@code keyOffset}, rotated: {query', key'}.
     */
    Tensor[] rotateQueryKey(Tensor query, Tensor key, int queryOffset, int keyOffset) {
        if (query.dim() != 4 || key.dim() != 4 || query.size(0) != key.size(0) || query.size(3) != key.size(3)) {
            throw new IllegalArgumentException(encoding + ": query [batch, heads, queryLength, headDim] and key "
                    + "[batch, keyHeads, keyLength, headDim] must agree in batch and headDim, got query "
                    + Arrays.toString(query.shape()) + " and key " + Arrays.toString(key.shape()));
        }
        if (queryOffset < 0 || keyOffset < 0) {
            throw new IllegalArgumentException(encoding + ": offsets must be >= 0, got queryOffset " + queryOffset
                    + " and keyOffset " + keyOffset);
        }
        int dim = rotaryDim(query.size(3));
        Table q = table(queryOffset, query.size(2), dim, false, query.backend());
        Table k = table(keyOffset, key.size(2), dim, scale != null, key.backend());
        return new Tensor[] {rotate(query, q), rotate(key, k)};
    }

    /** The number of rotated dimensions for heads of {@code headDim}: even and at most headDim. */
    int rotaryDim(int headDim) {
        if (rotaryDim == 0 && headDim % 2 != 0) {
            throw new IllegalArgumentException(encoding + ": rotaryDim 0 rotates the whole head, which needs an even "
                    + "headDim, got headDim " + headDim);
        }
        if (rotaryDim % 2 != 0 || rotaryDim > headDim) {
            throw new IllegalArgumentException(encoding + ": rotaryDim " + rotaryDim
                    + " must be even and at most headDim " + headDim);
        }
        return rotaryDim == 0 ? headDim : rotaryDim;
    }

    /** x [..., length, headDim] with its first table.rotaryDim dimensions rotated pairwise. */
    private static Tensor rotate(Tensor x, Table table) {
        int headDim = x.size(3);
        int half = table.rotaryDim / 2;
        Tensor x1 = x.narrow(3, 0, half);
        Tensor x2 = x.narrow(3, half, half);
        Tensor first = x1.mul(table.cos).sub(x2.mul(table.sin));
        Tensor second = x2.mul(table.cos).add(x1.mul(table.sin));
        return table.rotaryDim == headDim ? Tensor.concat(3, first, second)
                : Tensor.concat(3, first, second, x.narrow(3, table.rotaryDim, headDim - table.rotaryDim));
    }

    private Table table(int offset, int length, int dim, boolean key, ComputeBackend backend) {
        for (Table last : new Table[] {lastQuery, lastKey}) {
            if (last != null && last.matches(offset, length, dim, key, backend)) {
                return last;
            }
        }
        Table table = compute(offset, length, dim, key, backend);
        if (key) {
            lastKey = table;
        } else {
            lastQuery = table;
        }
        return table;
    }

    /** cos(pθ_i)·s and sin(pθ_i)·s in double, s inverted for keys, rounded to float. */
    private Table compute(int offset, int length, int dim, boolean key, ComputeBackend backend) {
        int half = dim / 2;
        double[] theta = new double[half];
        for (int i = 0; i < half; i++) {
            theta[i] = Math.pow(base, -2.0 * i / dim);
        }
        float[] cos = new float[length * half];
        float[] sin = new float[length * half];
        for (int t = 0; t < length; t++) {
            double position = ((double) offset + t) / interpolationFactor;
            for (int i = 0; i < half; i++) {
                double angle = position * theta[i];
                double s = scale == null ? 1 : scale.queryFactor(i, dim, position);
                if (key) {
                    s = 1 / s;
                }
                cos[t * half + i] = (float) (Math.cos(angle) * s);
                sin[t * half + i] = (float) (Math.sin(angle) * s);
            }
        }
        return new Table(offset, length, dim, key, backend, Tensor.of(backend, cos, length, half),
                Tensor.of(backend, sin, length, half));
    }
}
