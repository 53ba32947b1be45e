package org.xformers4j.tensor;

/**
 * The hook for fused kernels: an operation whose forward and backward are written together,
 * like {@code torch.autograd.Function}. Create one instance per application; fields may keep
 * what the backward needs.
 *
 * <pre>{@code
 * Tensor y = new MyFusedOp(args).apply(q, k, v);
 * }</pre>
 */
public abstract class CustomFunction {

    private boolean applied;

    /** Computes the output from the inputs; runs with grad recording off. */
    protected abstract Tensor forward(Tensor... inputs);

    /**
     * Gradients for each input given the gradient of the output, in input order; an entry may be
     * null for an input that does not require a gradient. Runs with grad recording off.
     */
    protected abstract Tensor[] backward(Tensor gradOutput);

    /** A short name for the op, used in error messages and {@link Tensor#gradFnName()}. */
    protected String name() {
        return getClass().getSimpleName();
    }

    /** Runs {@link #forward} and records the op so {@link Tensor#backward()} reaches {@link #backward}. */
    public final Tensor apply(Tensor... inputs) {
        if (applied) {
            throw new IllegalStateException(name() + " was already applied; create one instance per call");
        }
        applied = true;
        Tensor out;
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            out = forward(inputs);
        }
        return Tensor.record(out, name(), this::backward, inputs);
    }
}
