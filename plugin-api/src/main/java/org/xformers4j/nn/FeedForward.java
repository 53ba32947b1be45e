package org.xformers4j.nn;

import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;
import org.xformers4j.tensor.Tensor;

/**
 * The position-wise feed-forward block of a Transformer (Vaswani et al., 2017, "Attention Is All
 * You Need"): an up-projection to a hidden size, an activation, optional dropout on the hidden
 * activations, and a down-projection back to the model size.
 *
 * <p>Gated variants (Shazeer, 2020, "GLU Variants Improve Transformer") project the input twice
 * and multiply: h = act(x W_gate) ⊙ (x W_up), then y = h W_down. Parameters are named
 * {@code up} and {@code down} (and {@code gate} for gated variants), each a {@link Linear}.
 */
public final class FeedForward extends Module {

    /** The activation, and whether it gates a second projection. */
    public enum Activation {
        /** GELU, x Φ(x) (Hendrycks and Gimpel, 2016), as in BERT and GPT-2. */
        GELU(false, Tensor::gelu),
        /** ReLU, max(x, 0), as in the original Transformer (Vaswani et al., 2017). */
        RELU(false, Tensor::relu),
        /** Squared ReLU, max(x, 0)² (So et al., 2021, "Primer: Searching for Efficient Transformers for Language Modeling"). */
        SQUARED_RELU(false, x -> {
            Tensor r = x.relu();
            return r.mul(r);
        }),
        /** GLU, σ(x W) ⊙ x V (Dauphin et al., 2017; Shazeer, 2020). */
        GLU(true, Tensor::sigmoid),
        /** GEGLU, GELU(x W) ⊙ x V (Shazeer, 2020). */
        GEGLU(true, Tensor::gelu),
        /** SwiGLU, Swish₁(x W) ⊙ x V with Swish₁ = SiLU (Shazeer, 2020), as in PaLM and LLaMA. */
        SWIGLU(true, Tensor::silu);

        private final boolean gated;
        private final UnaryOperator<Tensor> function;

        Activation(boolean gated, UnaryOperator<Tensor> function) {
            this.gated = gated;
            this.function = function;
        }

        /** Whether the activation gates a second projection of the input. */
        public boolean gated() {
            return gated;
        }

        /** Applies the activation (the gate's nonlinearity for gated variants). */
        public Tensor apply(Tensor x) {
            return function.apply(x);
        }
    }

    private final Activation activation;
    private final Linear gate;
    private final Linear up;
    private final Dropout dropout;
    private final Linear down;

    /**
     * @param dim        model size, the input's and output's last dimension
     * @param hidden     hidden size
     * @param activation activation or gated variant
     * @param bias       whether the projections have biases (Shazeer (2020) uses none)
     * @param dropout    dropout probability on the hidden activations, in [0, 1)
     * @param rng        seeded generator for the weights and the dropout seed
     */
    public FeedForward(int dim, int hidden, Activation activation, boolean bias, float dropout, RandomGenerator rng) {
        Args.positive("FeedForward", "dim", dim);
        Args.positive("FeedForward", "hidden", hidden);
        if (activation == null) {
            throw new IllegalArgumentException("FeedForward: activation must not be null");
        }
        this.activation = activation;
        this.gate = activation.gated() ? registerModule("gate", new Linear(dim, hidden, bias, rng)) : null;
        this.up = registerModule("up", new Linear(dim, hidden, bias, rng));
        this.dropout = registerModule("dropout", new Dropout(dropout, rng.nextLong()));
        this.down = registerModule("down", new Linear(hidden, dim, bias, rng));
    }

    /** [..., dim] to [..., dim]. */
    public Tensor forward(Tensor x) {
        Tensor h = gate == null
                ? activation.apply(up.forward(x))
                : activation.apply(gate.forward(x)).mul(up.forward(x));
        return down.forward(dropout.forward(h));
    }

    public Activation activation() {
        return activation;
    }
}
