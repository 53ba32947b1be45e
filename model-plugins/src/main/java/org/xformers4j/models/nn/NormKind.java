package org.xformers4j.models.nn;

import java.util.function.UnaryOperator;
import org.xformers4j.nn.LayerNorm;
import org.xformers4j.nn.Module;
import org.xformers4j.nn.RMSNorm;
import org.xformers4j.nn.ScaleNorm;
import org.xformers4j.tensor.Tensor;

/** The normalisation layer of a {@link TransformerBlock} and of the encoder's final norm. */
public enum NormKind {
    /** {@link LayerNorm}: centre and scale, learned gain and bias (Ba et al., 2016). */
    LAYER,
    /** {@link RMSNorm}: scale by the root mean square, learned gain (Zhang and Sennrich, 2019). */
    RMS,
    /** {@link ScaleNorm}: project to a sphere of learned radius (Nguyen and Salazar, 2019). */
    SCALE;

    /** A norm layer and its forward function: the module to register, the function to call. */
    record Norm(Module module, UnaryOperator<Tensor> forward) {
    }

    /** A new norm of this kind over a last dimension of size {@code dim}, with default eps. */
    Norm create(int dim) {
        return switch (this) {
            case LAYER -> {
                LayerNorm norm = new LayerNorm(dim);
                yield new Norm(norm, norm::forward);
            }
            case RMS -> {
                RMSNorm norm = new RMSNorm(dim);
                yield new Norm(norm, norm::forward);
            }
            case SCALE -> {
                ScaleNorm norm = new ScaleNorm(dim);
                yield new Norm(norm, norm::forward);
            }
        };
    }
}
