package org.xformers4j.models.nn;

/**
 * Where a {@link TransformerBlock} normalises around each sublayer F (attention, feed-forward).
 */
public enum NormPlacement {
    /**
     * Pre-norm, x + F(norm(x)) (Xiong et al., 2020, "On Layer Normalization in the Transformer
     * Architecture"): the residual stream is never normalised, so the stack ends with a final norm.
     * Trains without warm-up; the default.
     */
    PRE,
    /** Post-norm, norm(x + F(x)), as in the original Transformer (Vaswani et al., 2017) and BERT. */
    POST,
    /**
     * Sandwich-norm, x + norm₂(F(norm₁(x))) (Ding et al., 2021, "CogView: Mastering Text-to-Image
     * Generation via Transformers", §2.4): pre-norm with a second norm on the branch output, which
     * bounds what each layer adds to the residual stream. Ends with a final norm, as pre-norm.
     */
    SANDWICH;

    /** Whether the residual stream leaves the last block unnormalised, so the stack needs a final norm. */
    public boolean needsFinalNorm() {
        return this != POST;
    }
}
