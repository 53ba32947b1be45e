package org.xformers4j.train;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.nn.Dropout;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;

/**
 * A small regression problem for the loop's tests: a two-layer network with dropout between its
 * layers, 64 fixed examples, and steps that draw {@link #BATCH} of them from a generator seeded by
 * the step alone.
 */
class Regression implements TrainingTask {

    static final int BATCH = 8;
    private static final int EXAMPLES = 64;
    private static final int IN = 4;

    /** The network: Linear(4, 6) → dropout → Linear(6, 1). */
    static final class Net extends Module {
        final Linear first;
        final Dropout dropout;
        final Linear second;

        Net(long seed, float dropoutRate) {
            SplittableRandom rng = new SplittableRandom(seed);
            first = registerModule("first", new Linear(IN, 6, true, rng));
            dropout = registerModule("dropout", new Dropout(dropoutRate, seed + 1));
            second = registerModule("second", new Linear(6, 1, true, rng));
        }

        Tensor forward(Tensor x) {
            return second.forward(dropout.forward(first.forward(x).relu()));
        }
    }

    final Net net;
    private final float[] inputs = new float[EXAMPLES * IN];
    private final float[] targets = new float[EXAMPLES];
    private final boolean dropout;
    int batches;

    Regression(float dropoutRate) {
        this.net = new Net(7, dropoutRate);
        this.dropout = dropoutRate > 0f;
        SplittableRandom data = new SplittableRandom(3);
        for (int i = 0; i < EXAMPLES; i++) {
            float sum = 0;
            for (int j = 0; j < IN; j++) {
                inputs[i * IN + j] = (float) data.nextGaussian();
                sum += (j + 1) * inputs[i * IN + j];
            }
            targets[i] = (float) Math.sin(sum);
        }
    }

    /** The rows of step {@code step}'s batch. */
    static int[] rows(long step) {
        SplittableRandom rng = new SplittableRandom(step * 0x9E3779B97F4A7C15L);
        int[] rows = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            rows[i] = rng.nextInt(EXAMPLES);
        }
        return rows;
    }

    @Override
    public Batch batch(long step, int part, int parts) {
        batches++;
        int[] rows = rows(step);
        int from = part * BATCH / parts;
        int to = (part + 1) * BATCH / parts;
        return new Batch(loss(rows, from, to), to - from);
    }

    Tensor loss(int[] rows, int from, int to) {
        int n = to - from;
        float[] x = new float[n * IN];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(inputs, rows[from + i] * IN, x, i * IN, IN);
            y[i] = targets[rows[from + i]];
        }
        return Functional.mseLoss(net.forward(Tensor.of(x, n, IN)), Tensor.of(y, n, 1));
    }

    @Override
    public Evaluation evaluate() {
        int[] all = new int[EXAMPLES];
        for (int i = 0; i < EXAMPLES; i++) {
            all[i] = i;
        }
        return Evaluation.ofLoss(loss(all, 0, EXAMPLES).item());
    }

    @Override
    public Map<String, String> identity() {
        return Map.of("task", "regression");
    }

    @Override
    public boolean usesDropout() {
        return dropout;
    }

    /** The network's parameters as host arrays, by name. */
    Map<String, float[]> weights() {
        Map<String, float[]> out = new LinkedHashMap<>();
        net.namedParameters().forEach((name, p) -> out.put(name, p.toFloatArray()));
        return out;
    }
}
