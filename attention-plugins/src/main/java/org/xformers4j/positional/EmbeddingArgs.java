package org.xformers4j.positional;

import java.util.Arrays;
import org.xformers4j.tensor.Tensor;

/** Checks shared by the encodings that add to token embeddings; messages name the encoding, shape and value. */
final class EmbeddingArgs {

    private EmbeddingArgs() {
    }

    /** A positive model width given to {@code initialize}. */
    static int modelDim(String encoding, int modelDim) {
        if (modelDim <= 0) {
            throw new IllegalArgumentException(encoding + ": modelDim must be positive, got " + modelDim);
        }
        return modelDim;
    }

    /**
     * Checks that {@code embeddings} is [batch, length, modelDim] with {@code modelDim} from
     * {@code initialize} (0 when it has not been called) and that {@code offset} is not negative.
     */
    static void check(String encoding, Tensor embeddings, int offset, int modelDim) {
        if (modelDim == 0) {
            throw new IllegalStateException(encoding + ": initialize(modelDim, heads, rng) must be called before use");
        }
        if (embeddings.dim() != 3 || embeddings.size(2) != modelDim) {
            throw new IllegalArgumentException(encoding + ": embeddings must be [batch, length, modelDim = " + modelDim
                    + "], got " + Arrays.toString(embeddings.shape()));
        }
        if (offset < 0) {
            throw new IllegalArgumentException(encoding + ": offset must be >= 0, got " + offset);
        }
    }

    /**
     * Checks that positions {@code offset} … {@code offset + length - 1} lie below {@code limit},
     * for encodings with a maximum length; {@code limitText} describes the limit (e.g. "maxLength
     * 512") and {@code field} names the hyperparameter that sets it.
     */
    static void checkWithin(String encoding, int offset, int length, long limit, String limitText, String field) {
        if ((long) offset + length > limit) {
            throw new IllegalArgumentException(encoding + ": positions " + offset + " to " + ((long) offset + length - 1)
                    + " (length " + length + " at offset " + offset + ") exceed " + limitText
                    + "; configure a larger " + field + " or use an encoding without a maximum length");
        }
    }
}
