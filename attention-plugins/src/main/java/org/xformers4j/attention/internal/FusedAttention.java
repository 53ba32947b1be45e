package org.xformers4j.attention.internal;

import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.compute.AttentionProblem;
import org.xformers4j.compute.BlockLayout;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * Softmax attention as the compute backend's fused kernel
 * ({@link ComputeBackend#scaledDotProductAttention} and its backward) in one autograd op: the
 * context's key padding mask, causal order, additive bias (with its gradient, summed into its own
 * broadcast shape) and attention dropout (one seed per call from the context's generator, from
 * which the backward regenerates the mask), optionally restricted to the blocks of a
 * {@link BlockLayout} (block-sparse attention: the kernel visits only those blocks). The forward
 * saves the output and each query's score maximum and reciprocal sum; the backward recomputes the
 * weights from them.
 */
public final class FusedAttention extends CustomFunction {

    private final AttentionProblem problem;
    private final Buffer keyPaddingMask;
    private Tensor[] inputs;
    private Tensor out;
    /** [2, B, H, Lq]: each query's score maximum, then its reciprocal row sum. */
    private Buffer rowStatistics;

    private FusedAttention(AttentionProblem problem, Buffer keyPaddingMask) {
        this.problem = problem;
        this.keyPaddingMask = keyPaddingMask;
    }

    /**
     * Attention of checked q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] in {@code context},
     * scores multiplied by {@code scale}, over the blocks of {@code layout} (null: every key).
     */
    public static Tensor apply(Tensor query, Tensor key, Tensor value, AttentionContext context, float scale,
                               BlockLayout layout) {
        Tensor bias = context.bias();
        int[] biasShape = null;
        if (bias != null) {
            // left-pad to [batch, heads, queryLength, keyLength] rank; the data is already laid out that way
            biasShape = new int[] {1, 1, 1, 1};
            System.arraycopy(bias.shape(), 0, biasShape, 4 - bias.dim(), bias.dim());
        }
        long seed = context.dropout() > 0f ? context.rng().nextLong() : 0L;
        AttentionProblem problem = new AttentionProblem(query.size(0), query.size(1), query.size(2), key.size(2),
                query.size(3), value.size(3), scale, context.causal(), biasShape, context.dropout(), seed, layout);
        Tensor mask = context.keyPaddingMask();
        FusedAttention op = new FusedAttention(problem, mask == null ? null : mask.buffer());
        return bias == null ? op.apply(query, key, value) : op.apply(query, key, value, bias);
    }

    @Override
    protected String name() {
        return problem.layout() == null ? "flashAttention" : "blockSparseAttention";
    }

    @Override
    protected Tensor forward(Tensor... in) {
        // in: query [B, H, Lq, D], key [B, H, Lk, D], value [B, H, Lk, Dv], optional bias
        inputs = in;
        ComputeBackend backend = in[0].backend();
        AttentionProblem p = problem;
        out = Tensor.zeros(backend, p.batch(), p.heads(), p.queryLength(), p.valueDim());
        rowStatistics = backend.allocate(2 * p.batch() * p.heads() * p.queryLength());
        backend.scaledDotProductAttention(p, in[0].buffer(), in[1].buffer(), in[2].buffer(), biasBuffer(),
                keyPaddingMask, out.buffer(), rowStatistics);
        return out;
    }

    @Override
    protected Tensor[] backward(Tensor gradOut) {
        ComputeBackend backend = out.backend();
        Tensor dq = inputs[0].zerosLike();
        Tensor dk = inputs[1].zerosLike();
        Tensor dv = inputs[2].zerosLike();
        Tensor dBias = inputs.length > 3 && inputs[3].requiresGrad() ? inputs[3].zerosLike() : null;
        backend.scaledDotProductAttentionBackward(problem, inputs[0].buffer(), inputs[1].buffer(),
                inputs[2].buffer(), biasBuffer(), keyPaddingMask, out.buffer(), rowStatistics, gradOut.buffer(),
                dq.buffer(), dk.buffer(), dv.buffer(), dBias == null ? null : dBias.buffer());
        return inputs.length > 3 ? new Tensor[] {dq, dk, dv, dBias} : new Tensor[] {dq, dk, dv};
    }

    private Buffer biasBuffer() {
        return inputs.length > 3 ? inputs[3].buffer() : null;
    }
}
