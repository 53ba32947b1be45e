package org.xformers4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.Optimizer;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * The training loop every trainer runs, as llm.c's {@code train_gpt2.c} and Tribuo's
 * {@code LinearSGDTrainer} have one: a trainer supplies a {@link TrainingTask}; the loop owns the
 * step. Step t (1-based) is
 * <ol>
 *   <li>{@link #accumulate}: for each of the {@code gradientAccumulation} micro-batches i of the
 *       step's batch, its mean loss ℓᵢ over nᵢ items, checked by the listeners, and the backward
 *       pass of nᵢ·ℓᵢ; then the gradients are divided by N = Σnᵢ, so the step equals one over the
 *       whole batch, whose loss is Σnᵢℓᵢ/N (with one micro-batch: ℓ's backward, nothing more);</li>
 *   <li>the {@link GradientSync} (an all-reduce across replicas; none on one process);</li>
 *   <li>the listeners' {@code onGradients} (the {@link DivergenceGuard} first), then the checkpoint
 *       that fell due after step t − 1, now that its weights have given a finite loss and gradients;</li>
 *   <li>clipping to the global norm, the schedule's learning rate, the optimiser's update;</li>
 *   <li>the listeners' {@code onUpdate}; every {@code evaluateEvery} steps, at the last step and when
 *       a listener stopped the run, a {@link Point} with the held-out evaluation (in evaluation mode,
 *       without a graph, its time not counted as training time) to the listeners' {@code onPoint}.</li>
 * </ol>
 *
 * <p>Resume. A run with {@code resumeFrom} restores the weights, the optimiser, the step and the
 * state of its listeners from the checkpoint after checking the task's identity, then, when the
 * task draws dropout masks, replays the forward passes of the steps already taken without a graph,
 * so that the dropout generators stand where they stood: as the batches are functions of the step,
 * the resumed run ends with the weights of an uninterrupted one, bit for bit.
 *
 * <p>The standard listeners come from the {@link RunSettings}: the {@link DivergenceGuard} always,
 * {@link EarlyStopping} with {@code patience > 0}, the {@link TimeBudget} with {@code maxMinutes > 0};
 * {@link #addListener} adds more (progress, metrics), called after them.
 */
public final class TrainingLoop {

    /** The checkpoint's file name in the checkpoint directory. */
    public static final String CHECKPOINT_FILE = "checkpoint.x4j";

    /**
     * What a run produced.
     *
     * @param curve      the learning curve, one point per evaluation
     * @param steps      the optimiser steps taken, counting those of the run resumed from
     * @param stopReason why the run ended before its last step, or null when it did not
     */
    public record Outcome(List<Point> curve, long steps, String stopReason) {
        public Outcome {
            curve = List.copyOf(curve);
        }

        /** The last point of the curve. */
        public Point last() {
            return curve.get(curve.size() - 1);
        }
    }

    private final Optimization optimization;
    private final RunSettings run;
    private final long steps;
    private final int evaluateEvery;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private GradientSync gradientSync = GradientSync.NONE;

    /**
     * A loop of {@code steps} optimiser steps that reports a point every {@code evaluateEvery} steps.
     *
     * @throws IllegalArgumentException if {@code steps} or {@code evaluateEvery} is not positive
     */
    public TrainingLoop(Optimization optimization, RunSettings run, long steps, int evaluateEvery) {
        if (optimization == null || run == null) {
            throw new IllegalArgumentException("TrainingLoop: optimization and run settings must not be null");
        }
        if (steps <= 0 || evaluateEvery <= 0) {
            throw new IllegalArgumentException("TrainingLoop: steps and evaluateEvery must be > 0, got " + steps
                    + " and " + evaluateEvery);
        }
        this.optimization = optimization;
        this.run = run;
        this.steps = steps;
        this.evaluateEvery = evaluateEvery;
    }

    /** Adds a listener, called after the standard ones and those added before it. */
    public TrainingLoop addListener(TrainingListener listener) {
        listeners.add(listener);
        return this;
    }

    /** Adds a listener that receives each point of the learning curve. */
    public TrainingLoop onPoint(Consumer<Point> progress) {
        return addListener(TrainingListener.ofPoints(progress));
    }

    /** Sets the hook between the backward passes and the update; {@link GradientSync#NONE} by default. */
    public TrainingLoop gradientSync(GradientSync sync) {
        this.gradientSync = sync;
        return this;
    }

    /**
     * Trains {@code network} on {@code task} and returns the curve; the network is left in evaluation
     * mode (with the best weights, under early stopping).
     *
     * @throws IllegalStateException    if a loss, gradient, parameter or optimiser state is NaN or infinite,
     *                                  naming it, the step and the last good checkpoint
     * @throws IllegalArgumentException if the checkpoint to resume from is missing, corrupt, of another
     *                                  task or architecture, or not before the last step
     */
    public Outcome run(Module network, TrainingTask task) {
        Optimizer optimizer = optimization.optimizer(network);
        LearningRateSchedule schedule = optimization.schedule(steps);
        Path directory = run.checkpointDirectory();
        TrainingState state = new TrainingState(network, optimizer, steps, task.stepsPerEpoch(), directory);
        DivergenceGuard guard = new DivergenceGuard(optimization.learningRate());
        Interval interval = new Interval();
        List<TrainingListener> all = standardListeners(guard);
        List<TrainingListener> holders = new ArrayList<>(all);
        holders.add(interval);
        Checkpoints checkpoints = new Checkpoints(directory, run.checkpointEvery(), run.resumeFrom());
        checkpoints.resume(state, task, holders);
        if (state.step() > 0 && task.usesDropout()) {
            replay(network, task, state.step());
        }
        all.forEach(listener -> listener.onStart(state));
        List<Tensor> parameters = optimizer.parameters();
        List<Point> curve = new ArrayList<>();
        network.train();
        while (state.step() < steps && !state.stopped()) {
            long started = System.nanoTime();
            long step = state.step() + 1;
            accumulate(task, step, state, all, interval);
            gradientSync.synchronize(parameters, step);
            all.forEach(listener -> listener.onGradients(state));
            state.addTrainingTime(System.nanoTime() - started);
            checkpoints.writeIfDue(state, task, holders, guard);
            started = System.nanoTime();
            if (optimization.gradientClip() > 0f) {
                GradientClipping.clipGradNorm(parameters, optimization.gradientClip());
            }
            schedule.applyTo(optimizer);
            optimizer.step();
            optimizer.zeroGrad();
            state.advance();
            interval.stepTaken();
            state.addTrainingTime(System.nanoTime() - started);
            all.forEach(listener -> listener.onUpdate(state));
            checkpoints.stepTaken(step);
            if (step % evaluateEvery == 0 || step == steps || state.stopped()) {
                Point point = interval.point(step, evaluate(network, task), state.trainingSeconds(),
                        optimizer.learningRate());
                curve.add(point);
                all.forEach(listener -> listener.onPoint(state, point));
                if (state.takeCheckpointRequest()) {
                    checkpoints.write(state, task, holders, guard);
                }
            }
        }
        checkpoints.write(state, task, holders, guard);
        all.forEach(listener -> listener.onEnd(state));
        network.eval();
        return new Outcome(curve, state.step(), state.stopReason().orElse(null));
    }

    private List<TrainingListener> standardListeners(DivergenceGuard guard) {
        List<TrainingListener> all = new ArrayList<>();
        all.add(guard);
        if (run.patience() > 0) {
            all.add(new EarlyStopping(run.patience()));
        }
        if (run.maxMinutes() > 0) {
            all.add(new TimeBudget(run.maxMinutes() * 60));
        }
        all.addAll(listeners);
        return all;
    }

    /**
     * The forward and backward passes of step {@code step}'s micro-batches: with one, the loss's own
     * backward; with several, each loss weighted by its item count and the summed gradients divided
     * by the step's items, as one pass over the whole batch would give.
     */
    private void accumulate(TrainingTask task, long step, TrainingState state, List<TrainingListener> all,
                            Interval interval) {
        int parts = run.gradientAccumulation();
        long items = 0;
        for (int part = 0; part < parts; part++) {
            TrainingTask.Batch batch = task.batch(step, part, parts);
            if (batch == null) {
                continue;                                               // an empty part of a short batch
            }
            float loss = batch.loss().item();
            all.forEach(listener -> listener.onLoss(state, step, loss));
            (parts == 1 ? batch.loss() : batch.loss().mul((float) batch.count())).backward();
            interval.add(loss, batch.count());
            state.addItems(batch.count());
            items += batch.count();
        }
        if (parts > 1) {
            GradientClipping.scaleGradients(state.optimizer().parameters(), 1f / items);
        }
    }

    /** Runs the forward passes of steps 1 … {@code steps} without a graph, advancing the dropout generators. */
    private void replay(Module network, TrainingTask task, long steps) {
        network.train();
        int parts = run.gradientAccumulation();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (long s = 1; s <= steps; s++) {
                for (int part = 0; part < parts; part++) {
                    task.batch(s, part, parts);
                }
            }
        }
    }

    private static Evaluation evaluate(Module network, TrainingTask task) {
        network.eval();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return task.evaluate();
        } finally {
            network.train();
        }
    }

    /**
     * The training loss and items since the last point, kept in checkpoints so resumed points read
     * the same; the step in progress counts once its update is made (a checkpoint written before
     * that update holds the steps before it).
     */
    private static final class Interval implements TrainingListener {
        private static final String LOSS_SUM = "loop.intervalLossSum";
        private static final String ITEMS = "loop.intervalItems";

        private double lossSum;
        private long items;
        private double stepLossSum;
        private long stepItems;
        private double secondsAtLastPoint;

        void add(float loss, long count) {
            stepLossSum += (double) loss * count;
            stepItems += count;
        }

        void stepTaken() {
            lossSum += stepLossSum;
            items += stepItems;
            stepLossSum = 0;
            stepItems = 0;
        }

        Point point(long step, Evaluation evaluation, double seconds, double learningRate) {
            double elapsed = seconds - secondsAtLastPoint;
            Point point = new Point(step, lossSum / items, evaluation, seconds, elapsed > 0 ? items / elapsed : 0,
                    learningRate);
            lossSum = 0;
            items = 0;
            secondsAtLastPoint = seconds;
            return point;
        }

        @Override
        public Map<String, String> checkpointState() {
            return Map.of(LOSS_SUM, Double.toString(lossSum), ITEMS, Long.toString(items));
        }

        @Override
        public void restore(Map<String, String> metadata, Path checkpoint) {
            try {
                lossSum = Double.parseDouble(metadata.getOrDefault(LOSS_SUM, "0"));
                items = Long.parseLong(metadata.getOrDefault(ITEMS, "0"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("resumeFrom = " + checkpoint + ": the loop's interval entries "
                        + "are not numbers: " + e.getMessage());
            }
        }
    }
}
