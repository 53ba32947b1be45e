package org.xformers4j.tensor;

import java.util.random.RandomGenerator;

/**
 * Operations that are not methods of one tensor, named as in PyTorch's {@code torch.nn.functional}:
 * normalisation, embedding lookup, dropout and losses.
 */
public final class Functional {

    /** The default {@code ignoreIndex} of {@link #crossEntropy}: no target is ignored unless it is this value. */
    public static final int IGNORE_INDEX = -100;

    private Functional() {
    }

    /**
     * Layer normalisation over the last dimension (Ba et al., 2016, "Layer Normalization").
     * {@code gamma} and {@code beta} have the size of the last dimension and may be null.
     */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return NormOps.layerNorm(x, gamma, beta, eps);
    }

    /**
     * RMS normalisation over the last dimension (Zhang and Sennrich, 2019, "Root Mean Square Layer
     * Normalization"); {@code gamma} may be null.
     */
    public static Tensor rmsNorm(Tensor x, Tensor gamma, float eps) {
        return NormOps.rmsNorm(x, gamma, eps);
    }

    /**
     * A fully connected layer with a bias, x Wᵀ + b over the last dimension of x [..., in], with W
     * [out, in] and b [out], as {@code torch.nn.functional.linear}; the bias addition is fused into
     * the matrix product (the GEMM accumulates onto the bias rows), so it takes no pass of its own.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return MatmulOps.linear(x, weight, bias);
    }

    /** Rows of {@code weight} [vocab, dim] for token ids laid out in {@code idsShape}; the result is idsShape + [dim]. */
    public static Tensor embedding(Tensor weight, int[] ids, int... idsShape) {
        return IndexOps.embedding(weight, ids, idsShape);
    }

    /**
     * Inverted dropout (Srivastava et al., 2014): in training, zeroes each element with probability
     * {@code p} drawn from {@code rng} and scales the rest by 1/(1-p); the identity otherwise.
     */
    public static Tensor dropout(Tensor x, float p, boolean training, RandomGenerator rng) {
        return LossOps.dropout(x, p, training, rng);
    }

    /**
     * Mean cross-entropy of {@code logits} [N, C] (or [C]) against class indices, skipping targets
     * equal to {@code ignoreIndex}, with label smoothing ε (Szegedy et al., 2016): the target
     * distribution is (1-ε) one-hot + ε/C.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex, float labelSmoothing) {
        return LossOps.crossEntropy(logits, targets, ignoreIndex, labelSmoothing);
    }

    /** Mean cross-entropy with no ignored index and no smoothing. */
    public static Tensor crossEntropy(Tensor logits, int[] targets) {
        return crossEntropy(logits, targets, IGNORE_INDEX, 0f);
    }

    /** Mean squared error between tensors of one shape. */
    public static Tensor mseLoss(Tensor input, Tensor target) {
        return LossOps.mseLoss(input, target);
    }

    /** Mean binary cross-entropy of logits against targets in [0, 1], computed stably. */
    public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor target) {
        return LossOps.binaryCrossEntropyWithLogits(logits, target);
    }
}
