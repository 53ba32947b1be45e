package org.xformers4j.models.nn;

import java.util.Arrays;
import java.util.List;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.CustomFunction;
import org.xformers4j.tensor.Tensor;

/**
 * A stack of {@link ReversibleBlock}s trained without storing activations (Gomez et al., 2017,
 * "The Reversible Residual Network"; Kitaev et al., 2020, "Reformer: The Efficient Transformer",
 * §3): the forward pass keeps only the final two streams, and the backward pass walks the blocks
 * in reverse, reconstructing each block's inputs from its outputs and recomputing F and G to get
 * the gradients. Training memory for activations is then that of one block whatever the depth,
 * for about one extra forward pass of compute.
 *
 * <p>The caller makes the two streams; Reformer duplicates the input ({@code forward(x, x)}) and
 * averages the two output halves.
 *
 * <p>Every block must be deterministic: recomputation must reproduce the forward pass, so F and G
 * may not use dropout in training mode (build them without dropout, or put them in eval mode). The
 * backward pass checks this: it compares the inputs it reconstructs with the actual inputs and
 * throws when they differ by more than float32 round-off explains.
 */
public final class ReversibleSequence extends Module {

    /** Largest reconstruction error accepted, relative to the largest input magnitude (at least 1). */
    static final float RECONSTRUCTION_TOLERANCE = 1e-3f;

    private final List<ReversibleBlock> blocks;

    /** @param blocks the blocks, applied in order and registered as submodules "0", "1", … */
    public ReversibleSequence(List<? extends ReversibleBlock> blocks) {
        if (blocks == null || blocks.isEmpty()) {
            throw new IllegalArgumentException("ReversibleSequence: blocks must be a non-empty list, got " + blocks);
        }
        for (int i = 0; i < blocks.size(); i++) {
            registerModule(Integer.toString(i), blocks.get(i));
        }
        this.blocks = List.copyOf(blocks);
    }

    /**
     * Runs the blocks on the streams x1, x2 [..., D] and returns (y1, y2) concatenated along the
     * last dimension, [..., 2D]; gradients reach x1, x2 and every block parameter.
     */
    public Tensor forward(Tensor x1, Tensor x2) {
        if (!Arrays.equals(x1.shape(), x2.shape())) {
            throw new IllegalArgumentException("ReversibleSequence: streams x1 " + Arrays.toString(x1.shape())
                    + " and x2 " + Arrays.toString(x2.shape()) + " must have one shape");
        }
        List<Tensor> params = parameters();
        Tensor[] inputs = new Tensor[2 + params.size()];
        inputs[0] = x1;
        inputs[1] = x2;
        for (int i = 0; i < params.size(); i++) {
            inputs[2 + i] = params.get(i);
        }
        return new Reversible().apply(inputs);
    }

    /** Recovers (x1, x2) from the output (y1, y2) of {@link #forward}, [..., 2D], running the blocks' inverses. */
    public Tensor[] inverse(Tensor y) {
        int last = y.dim() - 1;
        int d = y.size(last) / 2;
        Tensor[] streams = {y.narrow(last, 0, d), y.narrow(last, d, d)};
        for (int i = blocks.size() - 1; i >= 0; i--) {
            streams = blocks.get(i).inverse(streams[0], streams[1]);
        }
        return streams;
    }

    public List<ReversibleBlock> blocks() {
        return blocks;
    }

    /** The op: inputs x1, x2 and then the parameters, whose gradients backward accumulates itself. */
    private final class Reversible extends CustomFunction {

        private Tensor x1;
        private Tensor x2;
        private Tensor y;          // (y1, y2) concatenated: the only activation kept
        private int inputCount;

        @Override
        protected Tensor forward(Tensor... inputs) {
            x1 = inputs[0];
            x2 = inputs[1];
            inputCount = inputs.length;
            Tensor[] streams = {x1, x2};
            for (ReversibleBlock block : blocks) {
                streams = block.forward(streams[0], streams[1]);   // recording is off: nothing is stored
            }
            y = Tensor.concat(x1.dim() - 1, streams);
            return y;
        }

        @Override
        protected Tensor[] backward(Tensor gradOutput) {
            int last = y.dim() - 1;
            int d = x1.size(last);
            // step = {y1, y2, dy1, dy2} of the block being undone, then {x1, x2, dx1, dx2} of its input
            Tensor[] step = {y.narrow(last, 0, d), y.narrow(last, d, d),
                    gradOutput.narrow(last, 0, d), gradOutput.narrow(last, d, d)};
            for (int i = blocks.size() - 1; i >= 0; i--) {
                step = blocks.get(i).backwardStep(step[0], step[1], step[2], step[3]);
            }
            checkReconstruction(step[0], step[1]);
            Tensor[] grads = new Tensor[inputCount];   // null for the parameters: their grads are accumulated
            grads[0] = step[2];
            grads[1] = step[3];
            return grads;
        }

        private void checkReconstruction(Tensor reconstructed1, Tensor reconstructed2) {
            float error = Math.max(reconstructed1.sub(x1).abs().max().item(), reconstructed2.sub(x2).abs().max().item());
            float scale = Math.max(1f, Math.max(x1.abs().max().item(), x2.abs().max().item()));
            if (!(error <= RECONSTRUCTION_TOLERANCE * scale)) {
                throw new IllegalStateException("ReversibleSequence: inputs reconstructed in backward differ from the "
                        + "actual inputs by up to " + error + " (tolerance " + RECONSTRUCTION_TOLERANCE * scale
                        + "); F or G is not deterministic (dropout in training mode?) or changed since forward");
            }
        }
    }
}
