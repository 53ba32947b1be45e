package org.xformers4j.compute;

/**
 * Elementwise maps y = f(x; p) with a scalar parameter p where the op has one. The backward of
 * each op is computed by {@link ComputeBackend#unaryBackward} from x, y and dy.
 */
public enum UnaryOp {
    /** y = -x. */
    NEG,
    /** y = x + p. */
    ADD_SCALAR,
    /** y = x * p. */
    MUL_SCALAR,
    /** y = p - x. */
    RSUB_SCALAR,
    /** y = p / x. */
    RDIV_SCALAR,
    /** y = x^p. */
    POW,
    /** y = e^x. */
    EXP,
    /** y = ln x. */
    LOG,
    /** y = sqrt x. */
    SQRT,
    /** y = 1 / sqrt x. */
    RSQRT,
    /** y = |x|. */
    ABS,
    /** y = tanh x. */
    TANH,
    /** y = 1 / (1 + e^-x). */
    SIGMOID,
    /** y = max(x, 0). */
    RELU,
    /** y = x Φ(x), the exact GELU with the error function (Hendrycks and Gimpel, 2016). */
    GELU_ERF,
    /** y = x/2 (1 + tanh(sqrt(2/π)(x + 0.044715 x³))), the tanh approximation of GELU. */
    GELU_TANH,
    /** y = x σ(x), SiLU / swish (Elfwing et al., 2018). */
    SILU,
    /** y = x for x &gt; 0, p (e^x - 1) otherwise (Clevert et al., 2016). */
    ELU,
    /** y = ln(1 + e^x), computed stably. */
    SOFTPLUS
}
