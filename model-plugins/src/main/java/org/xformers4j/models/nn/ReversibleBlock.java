package org.xformers4j.models.nn;

import java.util.function.UnaryOperator;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A reversible residual block (Gomez et al., 2017, "The Reversible Residual Network:
 * Backpropagation Without Storing Activations"; Kitaev et al., 2020, "Reformer", §3): two streams
 * x1, x2 of one shape go to
 * <pre>
 *   y1 = x1 + F(x2)        x2 = y2 − G(y1)
 *   y2 = x2 + G(y1)        x1 = y1 − F(x2)
 * </pre>
 * so the inputs can be recomputed from the outputs (right) instead of being stored. In a
 * Transformer F is the attention sublayer and G the feed-forward sublayer, both shape-preserving.
 *
 * <p>{@link #forward} is the plain computation, with activations stored by autograd; a
 * {@link ReversibleSequence} runs blocks without storing them. F and G must be deterministic
 * (no active dropout), because the sequence's backward recomputes them.
 */
public abstract class ReversibleBlock extends Module {

    /** F, the first residual function (attention in Reformer). */
    protected abstract Tensor f(Tensor x);

    /** G, the second residual function (feed-forward in Reformer). */
    protected abstract Tensor g(Tensor x);

    /**
     * A block whose F and G are {@code fForward} and {@code gForward}, reading the parameters of
     * {@code f} and {@code g}, registered as submodules {@code f} and {@code g}; for example {@code
     * ReversibleBlock.of(attention, x -> attention.selfAttention(x, context), ffn, ffn::forward)}.
     */
    public static ReversibleBlock of(Module f, UnaryOperator<Tensor> fForward, Module g, UnaryOperator<Tensor> gForward) {
        return new ReversibleBlock() {
            {
                registerModule("f", f);
                registerModule("g", g);
            }

            @Override
            protected Tensor f(Tensor x) {
                return fForward.apply(x);
            }

            @Override
            protected Tensor g(Tensor x) {
                return gForward.apply(x);
            }
        };
    }

    /** (x1, x2) to (y1, y2), each [..., D], recorded by autograd like any other op. */
    public final Tensor[] forward(Tensor x1, Tensor x2) {
        Tensor y1 = x1.add(f(x2));
        Tensor y2 = x2.add(g(y1));
        return new Tensor[] {y1, y2};
    }

    /** (y1, y2) back to (x1, x2), without recording. */
    public final Tensor[] inverse(Tensor y1, Tensor y2) {
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor x2 = y2.sub(g(y1));
            Tensor x1 = y1.sub(f(x2));
            return new Tensor[] {x1, x2};
        }
    }

    /**
     * One step of the reversible backward pass (Gomez et al., 2017, Algorithm 1): from the outputs
     * (y1, y2) and their gradients (dy1, dy2), recomputes G and F with recording on, reconstructs
     * the inputs and returns {x1, x2, dx1, dx2}; the parameters' gradients accumulate in their
     * {@link Tensor#grad()}. Runs inside a backward pass, with recording off.
     */
    final Tensor[] backwardStep(Tensor y1, Tensor y2, Tensor dy1, Tensor dy2) {
        // x2 = y2 − G(y1); dL/dy1 gets G's contribution: dy1 + (∂G/∂y1)ᵀ dy2
        Tensor y1Leaf = y1.detach().requiresGrad(true);
        Tensor gOut;
        try (GradMode.Scope ignored = GradMode.enableGrad()) {
            gOut = g(y1Leaf);
        }
        Tensor x2 = y2.sub(gOut);
        gOut.backward(dy2);
        Tensor dx1 = y1Leaf.grad() == null ? dy1 : dy1.add(y1Leaf.grad());   // total gradient of y1, which is dx1

        // x1 = y1 − F(x2); dx2 = dy2 + (∂F/∂x2)ᵀ dx1
        Tensor x2Leaf = x2.requiresGrad(true);
        Tensor fOut;
        try (GradMode.Scope ignored = GradMode.enableGrad()) {
            fOut = f(x2Leaf);
        }
        Tensor x1 = y1.sub(fOut);
        fOut.backward(dx1);
        Tensor dx2 = x2Leaf.grad() == null ? dy2 : dy2.add(x2Leaf.grad());
        return new Tensor[] {x1, x2Leaf.detach(), dx1, dx2};
    }
}
