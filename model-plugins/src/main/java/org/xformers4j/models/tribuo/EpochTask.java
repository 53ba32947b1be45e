package org.xformers4j.models.tribuo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.tribuo.Example;
import org.tribuo.Output;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingTask;

/**
 * Epochs of shuffled mini-batches of Tribuo examples as a {@link TrainingTask}, what
 * {@link TransformerTrainer} trains on: step s is batch (s − 1) mod S of epoch ⌈s / S⌉ (S batches
 * per epoch), whose order is a shuffle of the training examples by a generator seeded from
 * (shuffleSeed, epoch) alone, so a resumed run finds the order of any epoch without replaying the
 * earlier ones. The held-out loss is the mean over the validation examples.
 *
 * @param <T> the Tribuo output type
 */
final class EpochTask<T extends Output<T>> implements TrainingTask {

    private final TransformerNetwork network;
    private final OutputHead.Fitted<T> fitted;
    private final List<Example<T>> train;
    private final List<Example<T>> validation;
    private final int batchSize;
    private final int stepsPerEpoch;
    private final long shuffleSeed;
    private final Map<String, String> identity;
    private int orderEpoch;
    private List<Example<T>> order;

    /**
     * @param identity what else identifies the run in its checkpoints (the trainer's invocation), beside
     *                 the seed, the training examples, the batch and its split, which this task adds
     */
    EpochTask(TransformerNetwork network, OutputHead.Fitted<T> fitted, List<Example<T>> train,
              List<Example<T>> validation, RunSettings run, long shuffleSeed, Map<String, String> identity) {
        this.network = network;
        this.fitted = fitted;
        this.train = train;
        this.validation = validation;
        this.batchSize = run.batchSize();
        this.stepsPerEpoch = (train.size() + batchSize - 1) / batchSize;
        this.shuffleSeed = shuffleSeed;
        Map<String, String> all = new TreeMap<>(identity);
        all.put("trainer.seed", Long.toString(run.seed()));
        all.put("trainer.trainExamples", Integer.toString(train.size()));
        all.put("trainer.batchSize", Integer.toString(batchSize));
        all.put("trainer.gradientAccumulation", Integer.toString(run.gradientAccumulation()));
        this.identity = Map.copyOf(all);
    }

    /** Optimiser steps per pass over the training examples. */
    @Override
    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    @Override
    public Batch batch(long step, int part, int parts) {
        int epoch = (int) ((step - 1) / stepsPerEpoch) + 1;
        if (epoch != orderEpoch) {
            order = new ArrayList<>(train);
            shuffle(order, new SplittableRandom(shuffleSeed + epoch));
            orderEpoch = epoch;
        }
        int from = (int) ((step - 1) % stepsPerEpoch) * batchSize;
        int size = Math.min(batchSize, order.size() - from);
        List<Example<T>> batch = order.subList(from + part * size / parts, from + (part + 1) * size / parts);
        return batch.isEmpty() ? null : new Batch(fitted.loss(network.forward(batch), batch), batch.size());
    }

    @Override
    public Evaluation evaluate() {
        if (validation.isEmpty()) {
            return null;
        }
        double sum = 0;
        for (int from = 0; from < validation.size(); from += batchSize) {
            List<Example<T>> batch = validation.subList(from, Math.min(from + batchSize, validation.size()));
            sum += (double) fitted.loss(network.forward(batch), batch).item() * batch.size();
        }
        return Evaluation.ofLoss(sum / validation.size());
    }

    @Override
    public Map<String, String> identity() {
        return identity;
    }

    @Override
    public boolean usesDropout() {
        return network.architecture().isStochastic();
    }

    /** A progress line: the epoch of {@code epochs}, the losses and the throughput. */
    String describe(Point point, int epochs) {
        return String.format("epoch %d/%d: loss %.5f%s, %.0f examples/s", (point.step() + stepsPerEpoch - 1)
                / stepsPerEpoch, epochs, point.trainLoss(), point.evaluation() == null ? ""
                : String.format(", validation loss %.5f", point.evaluation().loss()), point.itemsPerSecond());
    }

    /** Fisher–Yates shuffle in place. */
    static <E> void shuffle(List<E> list, SplittableRandom rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, rng.nextInt(i + 1));
        }
    }
}
