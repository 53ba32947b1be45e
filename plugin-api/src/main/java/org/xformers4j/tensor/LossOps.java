package org.xformers4j.tensor;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.xformers4j.compute.BinaryOp;
import org.xformers4j.compute.Buffer;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.ReduceOp;
import org.xformers4j.compute.UnaryOp;

/**
 * Losses and dropout. Each is one node with its own backward built from backend kernels; losses
 * return a 0-d tensor.
 */
final class LossOps {

    private LossOps() {
    }

    /**
     * Mean cross-entropy over the targets that are not {@code ignoreIndex}, with label smoothing ε
     * (Szegedy et al., 2016, "Rethinking the Inception Architecture"), as PyTorch defines it: per
     * row, loss = (1-ε)·(-log p[target]) + ε·mean_c(-log p[c]). The gradient of a row is
     * softmax(logits) - ((1-ε)·onehot(target) + ε/C), divided by the number of counted rows.
     *
     * <p>When every target is ignored the loss is 0 with a zero gradient (PyTorch returns NaN).
     * Only per-row values cross between host and device: the log-probabilities stay where the
     * logits are, and the backward exponentiates them once into the gradient (no second softmax, no
     * gradient of the log-probabilities); the row sums of the log-probabilities are only taken for
     * label smoothing.
     */
    static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex, float labelSmoothing) {
        int[] shape = logits.shape();
        if (shape.length != 1 && shape.length != 2) {
            throw new IllegalArgumentException("crossEntropy: logits must be [N, C] or [C], got shape "
                    + Shape.str(shape));
        }
        int rows = shape.length == 2 ? shape[0] : 1;
        int classes = shape[shape.length - 1];
        if (targets.length != rows) {
            throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for logits of shape "
                    + Shape.str(shape) + " (" + rows + " rows)");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("crossEntropy: labelSmoothing must be in [0, 1), got " + labelSmoothing);
        }
        int[] index = new int[rows];
        int counted = 0;
        for (int i = 0; i < rows; i++) {
            if (targets[i] == ignoreIndex) {
                continue;
            }
            if (targets[i] < 0 || targets[i] >= classes) {
                throw new IllegalArgumentException("crossEntropy: target " + targets[i] + " at position " + i
                        + " is out of range [0, " + classes + ") and is not the ignore index " + ignoreIndex);
            }
            index[i] = targets[i];
            counted++;
        }
        ComputeBackend backend = logits.backend();
        Tensor logp = Tensor.zeros(backend, shape);
        backend.softmax(logits.buffer(), rows, classes, 1, logp.buffer(), true);
        float[] target;
        float[] sums = new float[rows];
        try (Tensor picked = Tensor.zeros(backend, rows)) {
            backend.gather(logp.buffer(), rows, classes, 1, index, 1, picked.buffer());
            target = picked.toFloatArray();
        }
        if (labelSmoothing > 0) {
            try (Tensor rowSums = Tensor.zeros(backend, rows)) {
                backend.reduce(ReduceOp.SUM, logp.buffer(), rows, classes, 1, rowSums.buffer(), null);
                sums = rowSums.toFloatArray();
            }
        }
        double total = 0;
        for (int i = 0; i < rows; i++) {
            if (targets[i] != ignoreIndex) {
                total -= (1 - labelSmoothing) * (double) target[i] + labelSmoothing * (double) sums[i] / classes;
            }
        }
        float loss = counted == 0 ? 0f : (float) (total / counted);
        int n = counted;
        Tensor out = Tensor.of(backend, new float[] {loss});
        return Tensor.record(out, "crossEntropy", g -> {
            // The log-softmax backward of dlogp = -g/n · (ε/C + (1-ε)·[c == target_i]), whose rows sum to
            // -g/n, in one pass: dlogits = g/n · (e^logp - ε/C - (1-ε)·[c == target_i]) on counted rows,
            // 0 on ignored ones.
            float scale = n == 0 ? 0f : g.item() / n;
            float[] rowScale = new float[rows];
            float[] spread = new float[rows];
            float[] hit = new float[rows];
            for (int i = 0; i < rows; i++) {
                if (targets[i] != ignoreIndex) {
                    rowScale[i] = scale;
                    spread[i] = -scale * labelSmoothing / classes;
                    hit[i] = -scale * (1 - labelSmoothing);
                }
            }
            int[] matrix = {rows, classes};
            int[] contiguous = {classes, 1};
            int[] perRow = {1, 0};
            Tensor dx = Tensor.zeros(backend, shape);
            try (Buffer scaleRows = backend.upload(rowScale); Buffer spreadRows = backend.upload(spread);
                 Buffer hitRows = backend.upload(hit)) {
                backend.unary(UnaryOp.EXP, 0f, logp.buffer(), dx.buffer(), rows * classes);
                backend.binary(BinaryOp.MUL, matrix, dx.buffer(), contiguous, scaleRows, perRow, dx.buffer());
                if (labelSmoothing > 0) {
                    backend.binary(BinaryOp.ADD, matrix, dx.buffer(), contiguous, spreadRows, perRow, dx.buffer());
                }
                backend.scatterAdd(dx.buffer(), rows, classes, 1, index, 1, hitRows);
            }
            return new Tensor[] {dx};
        }, logits);
    }

    /** mean((input - target)²); gradients 2(input - target)/N to input and its negation to target. */
    static Tensor mseLoss(Tensor input, Tensor target) {
        checkSameShape("mseLoss", "input", input, "target", target);
        int n = input.numel();
        Tensor diff = binary(BinaryOp.SUB, input, target);
        float loss = (float) (input.backend().sumOfSquares(diff.buffer(), n) / n);
        Tensor out = Tensor.of(input.backend(), new float[] {loss});
        return Tensor.record(out, "mseLoss", g -> {
            float scale = 2 * g.item() / n;
            return new Tensor[] {
                input.requiresGrad() ? unary(UnaryOp.MUL_SCALAR, scale, diff) : null,
                target.requiresGrad() ? unary(UnaryOp.MUL_SCALAR, -scale, diff) : null
            };
        }, input, target);
    }

    /**
     * mean(max(x, 0) - x·y + log(1 + e^-|x|)), the binary cross-entropy of σ(x) against y written
     * stably as softplus(x) - x·y. Gradients: (σ(x) - y)/N to the logits, -x/N to the target.
     */
    static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor target) {
        checkSameShape("binaryCrossEntropyWithLogits", "logits", logits, "target", target);
        int n = logits.numel();
        float sum;
        try (Tensor softplus = unary(UnaryOp.SOFTPLUS, 0f, logits);
             Tensor product = binary(BinaryOp.MUL, logits, target);
             Tensor perElement = binary(BinaryOp.SUB, softplus, product);
             Tensor total = Tensor.zeros(logits.backend(), 1)) {
            logits.backend().reduce(ReduceOp.SUM, perElement.buffer(), 1, n, 1, total.buffer(), null);
            sum = total.item();
        }
        Tensor out = Tensor.of(logits.backend(), new float[] {sum / n});
        return Tensor.record(out, "binaryCrossEntropyWithLogits", g -> {
            float scale = g.item() / n;
            return new Tensor[] {
                logits.requiresGrad() ? unary(UnaryOp.MUL_SCALAR, scale,
                        binary(BinaryOp.SUB, unary(UnaryOp.SIGMOID, 0f, logits), target)) : null,
                target.requiresGrad() ? unary(UnaryOp.MUL_SCALAR, -scale, logits) : null
            };
        }, logits, target);
    }

    /**
     * Inverted dropout (Srivastava et al., 2014): in training each element is kept with probability
     * 1-p and scaled by 1/(1-p). The mask is the backend's counter-based one ({@link
     * org.xformers4j.compute.ComputeBackend#dropout}), computed in parallel and recomputed by the
     * backward rather than stored. From a {@link ReplayableRandom} (every layer's generator) it
     * reserves one draw per element: the mask is exactly what {@code nextFloat() < p} would draw in
     * row-major order, and the generator ends where those draws would leave it. Any other generator
     * gives one {@code nextLong()} as the mask's starting state, so a seed fixes the mask either
     * way. The identity (the same tensor) when not training or p = 0.
     */
    static Tensor dropout(Tensor x, float p, boolean training, RandomGenerator rng) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (rng == null) {
            throw new IllegalArgumentException("dropout: training with p = " + p + " needs a random generator, got null");
        }
        int n = x.numel();
        long state = rng instanceof ReplayableRandom replayable ? replayable.reserve(n) : rng.nextLong();
        Tensor out = Tensor.zeros(x.backend(), x.shape());
        x.backend().dropout(state, p, x.buffer(), out.buffer(), n);
        return Tensor.record(out, "dropout", g -> {
            Tensor dx = Tensor.zeros(g.backend(), g.shape());
            g.backend().dropout(state, p, g.buffer(), dx.buffer(), n);
            return new Tensor[] {dx};
        }, x);
    }

    private static void checkSameShape(String op, String aName, Tensor a, String bName, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": " + aName + " shape " + Shape.str(a.shape()) + " and " + bName
                    + " shape " + Shape.str(b.shape()) + " must be equal");
        }
        if (a.backend() != b.backend()) {
            throw new IllegalArgumentException(op + ": " + aName + " is on backend " + a.backend().name() + ", "
                    + bName + " on " + b.backend().name());
        }
    }

    /** op(x; param) elementwise; records nothing. */
    private static Tensor unary(UnaryOp op, float param, Tensor x) {
        Tensor out = Tensor.zeros(x.backend(), x.shape());
        x.backend().unary(op, param, x.buffer(), out.buffer(), x.numel());
        return out;
    }

    /** op(a, b) elementwise on tensors of one shape; records nothing. */
    private static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        int[] shape = a.shape();
        int[] strides = Shape.strides(shape);
        Tensor out = Tensor.zeros(a.backend(), shape);
        a.backend().binary(op, shape, a.buffer(), strides, b.buffer(), strides, out.buffer());
        return out;
    }
}
