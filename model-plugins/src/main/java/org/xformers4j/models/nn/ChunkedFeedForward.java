package org.xformers4j.models.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;
import org.xformers4j.nn.FeedForward;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * A position-wise feed-forward block applied to chunks of positions, so that its [positions,
 * hidden] intermediate is never held for the whole sequence (Kitaev et al., 2020, "Reformer: The
 * Efficient Transformer", §3 "Chunking"). The output and the gradients are those of the unchunked
 * {@link FeedForward}; peak memory falls from O(N · hidden) to O(chunkSize · hidden) for N
 * positions, at the price of computing the feed-forward twice in training.
 *
 * <p>Forward runs each chunk with grad recording off and keeps only the input; backward recomputes
 * each chunk with recording on and back-propagates that chunk's output gradient, which accumulates
 * into the parameters' {@link Tensor#grad()} and gives the chunk's input gradient. Because of the
 * recomputation the function must be deterministic, so the wrapped {@link FeedForward} is built
 * without hidden dropout; apply dropout to the block's output (residual dropout) instead.
 */
public final class ChunkedFeedForward extends Module {

    private final FeedForward ffn;
    private final int chunkSize;

    /**
     * Builds the wrapped feed-forward as {@code new FeedForward(dim, hidden, activation, bias, 0f, rng)}
     * does, so both draw the same weights from generators seeded alike.
     *
     * @param dim        model size, the input's and output's last dimension
     * @param hidden     hidden size
     * @param activation activation or gated variant
     * @param bias       whether the projections have biases
     * @param chunkSize  positions per chunk, at least 1
     * @param rng        seeded generator for the weights
     */
    public ChunkedFeedForward(int dim, int hidden, FeedForward.Activation activation, boolean bias, int chunkSize,
            RandomGenerator rng) {
        this.chunkSize = checkChunkSize(chunkSize);
        this.ffn = registerModule("ffn", new FeedForward(dim, hidden, activation, bias, 0f, rng));
    }

    /** [..., dim] to [..., dim], chunkSize positions at a time. */
    public Tensor forward(Tensor x) {
        return apply(x, ffn::forward, parameters(), chunkSize);
    }

    /** The wrapped feed-forward, whose parameters are this module's. */
    public FeedForward ffn() {
        return ffn;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /**
     * Applies a position-wise function to {@code x} [..., D], {@code chunkSize} positions at a
     * time: the leading dimensions are flattened to N positions, taken in order, and each chunk
     * [≤ chunkSize, D] is passed to {@code positionWise}, which returns [≤ chunkSize, Dout]; the
     * result is [..., Dout]. Gradients reach {@code x} and the {@code parameters} that the function
     * reads (they must all be listed, or they get no gradient when {@code x} needs none).
     * {@code positionWise} must be deterministic (no dropout): backward recomputes it.
     */
    public static Tensor apply(Tensor x, UnaryOperator<Tensor> positionWise, List<Tensor> parameters, int chunkSize) {
        checkChunkSize(chunkSize);
        if (x.dim() < 1) {
            throw new IllegalArgumentException("ChunkedFeedForward: input must have at least one dimension, got shape "
                    + Arrays.toString(x.shape()));
        }
        Tensor[] inputs = new Tensor[1 + parameters.size()];
        inputs[0] = x;
        for (int i = 0; i < parameters.size(); i++) {
            inputs[1 + i] = parameters.get(i);
        }
        return new Chunked(positionWise, chunkSize).apply(inputs);
    }

    private static int checkChunkSize(int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("ChunkedFeedForward: chunkSize must be >= 1, got " + chunkSize);
        }
        return chunkSize;
    }

    /** The op: inputs are x and then the parameters, whose gradients backward accumulates itself. */
    private static final class Chunked extends CustomFunction {

        private final UnaryOperator<Tensor> positionWise;
        private final int chunkSize;
        private Tensor x;          // the input [..., D], the only tensor kept for backward
        private Tensor positions;  // x as [N, D]
        private int[] outShape;
        private int inputCount;

        Chunked(UnaryOperator<Tensor> positionWise, int chunkSize) {
            this.positionWise = positionWise;
            this.chunkSize = chunkSize;
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            x = inputs[0];
            inputCount = inputs.length;
            positions = x.reshape(-1, x.size(-1));
            int n = positions.size(0);
            List<Tensor> chunks = new ArrayList<>();
            for (int start = 0; start < n; start += chunkSize) {
                int len = Math.min(chunkSize, n - start);
                chunks.add(positionWise.apply(positions.narrow(0, start, len)));   // [len, Dout]
            }
            Tensor out = Tensor.concat(0, chunks.toArray(new Tensor[0]));       // [N, Dout]
            outShape = x.shape();
            outShape[outShape.length - 1] = out.size(1);
            return out.reshape(outShape);
        }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            Tensor gradPositions = gradOutput.reshape(-1, outShape[outShape.length - 1]);   // [N, Dout]
            int n = positions.size(0);
            List<Tensor> inputGrads = new ArrayList<>();
            for (int start = 0; start < n; start += chunkSize) {
                int len = Math.min(chunkSize, n - start);
                Tensor chunk = positions.narrow(0, start, len).requiresGrad(x.requiresGrad());   // a new leaf [len, D]
                Tensor out;
                try (GradMode.Scope ignored = GradMode.enableGrad()) {
                    out = positionWise.apply(chunk);
                }
                if (out.requiresGrad()) {
                    out.backward(gradPositions.narrow(0, start, len));   // parameter grads accumulate here
                }
                if (x.requiresGrad()) {
                    inputGrads.add(chunk.grad() != null ? chunk.grad() : chunk.zerosLike());
                }
            }
            Tensor[] grads = new Tensor[inputCount];   // null for the parameters: their grads are accumulated
            if (x.requiresGrad()) {
                grads[0] = Tensor.concat(0, inputGrads.toArray(new Tensor[0])).reshape(x.shape());
            }
            return grads;
        }
    }
}
