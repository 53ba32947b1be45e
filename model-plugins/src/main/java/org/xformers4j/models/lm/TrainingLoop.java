package org.xformers4j.models.lm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.AdamW;
import org.xformers4j.optim.GradientClipping;
import org.xformers4j.optim.LearningRateSchedule;
import org.xformers4j.optim.NonFinite;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * The step loop shared by the language-model and sequence-to-sequence trainers: AdamW (Loshchilov
 * and Hutter, 2019) with linear warm-up and cosine decay over {@link Settings#steps()}, optional
 * global gradient-norm clipping, evaluation every {@link Settings#evaluateEvery()} steps and at the
 * end, checkpoints and resume, a time budget and a guard against divergence.
 *
 * <p>Each step's batch is a function of the step number alone ({@link Task#trainingBatch}), so a
 * run resumed from a checkpoint draws the batches it would have drawn; when training draws dropout
 * masks from the model's own generators ({@link Task#usesDropout()}), the resumed run first replays
 * the forward passes of the steps already taken, without a graph, so that its generators stand
 * where they stood and it ends with the weights of an uninterrupted run. The checkpoint {@value #CHECKPOINT_FILE} in the
 * checkpoint directory holds the weights, the optimiser state and the step, with the task's
 * {@link Task#identity() identity} as metadata; resuming from a checkpoint of another task or
 * architecture is refused naming the difference, and an unreadable or corrupt file fails without
 * touching anything else.
 *
 * <p>Divergence. No checkpoint is written from weights that are not known to be good, so that the
 * last good checkpoint a diverged run names resumes: each step checks its loss, then its gradients
 * after {@code backward()} and before the update, then the parameters after the update, and stops
 * at the first NaN or infinity; a checkpoint of step s is written only once the weights have
 * given a finite loss on step s + 1's batch (one forward pass without a graph per checkpoint),
 * since finite but huge weights can still give a NaN loss at once; and {@link Checkpoint#save}
 * refuses non-finite optimiser state.
 */
public final class TrainingLoop {

    /** The checkpoint's file name in the checkpoint directory. */
    public static final String CHECKPOINT_FILE = "checkpoint.x4j";

    /**
     * How to train.
     *
     * @param steps               optimiser steps in all (the cosine schedule's length), > 0
     * @param maxSeconds          stop after this much training time even if steps remain, 0 for no limit
     * @param learningRate        peak learning rate, > 0
     * @param weightDecay         AdamW's decoupled weight decay, >= 0
     * @param warmupSteps         steps of linear warm-up, >= 0
     * @param gradientClip        largest global gradient norm, 0 for no clipping
     * @param evaluateEvery       steps between evaluations, > 0 (the last step is always evaluated)
     * @param checkpointDirectory where {@value #CHECKPOINT_FILE} is written, or null for none
     * @param checkpointEvery     steps between checkpoints, > 0
     * @param resumeFrom          a checkpoint to continue from, or null
     */
    public record Settings(int steps, double maxSeconds, float learningRate, float weightDecay, int warmupSteps,
                           float gradientClip, int evaluateEvery, Path checkpointDirectory, int checkpointEvery,
                           Path resumeFrom) {
        public Settings {
            positive("steps", steps);
            positive("evaluateEvery", evaluateEvery);
            positive("checkpointEvery", checkpointEvery);
            if (!(maxSeconds >= 0) || Double.isInfinite(maxSeconds)) {
                throw new IllegalArgumentException("maxSeconds must be finite and >= 0 (0 for no limit), got "
                        + maxSeconds);
            }
            if (!(learningRate > 0f) || Float.isInfinite(learningRate)) {
                throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
            }
            if (!(weightDecay >= 0f) || Float.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
            }
            if (warmupSteps < 0 || warmupSteps >= steps) {
                throw new IllegalArgumentException("warmupSteps must be in [0, steps = " + steps + "), got "
                        + warmupSteps);
            }
            if (!(gradientClip >= 0f) || Float.isInfinite(gradientClip)) {
                throw new IllegalArgumentException("gradientClip must be finite and >= 0 (0 for none), got "
                        + gradientClip);
            }
        }

        private static void positive(String field, int value) {
            if (value <= 0) {
                throw new IllegalArgumentException(field + " must be > 0, got " + value);
            }
        }
    }

    /**
     * One step's training batch.
     *
     * @param loss   the mean loss per predicted token, a scalar with a graph
     * @param tokens the number of predicted tokens, for the throughput
     */
    public record Batch(Tensor loss, long tokens) {
    }

    /** What is trained: batches, evaluation and what identifies it in checkpoints. */
    public interface Task {
        /** The batch of step {@code step} (1-based), a function of the step alone. */
        Batch trainingBatch(long step);

        /** The held-out evaluation, run without a graph and in evaluation mode. */
        Evaluation evaluate();

        /** What must match when resuming: the architecture, data and settings that shape the run. */
        Map<String, String> identity();

        /** Whether training batches draw dropout masks, which a resumed run must replay; none by default. */
        default boolean usesDropout() {
            return false;
        }
    }

    /**
     * A held-out evaluation.
     *
     * @param loss             mean loss per predicted token, in nats
     * @param bitsPerCharacter total loss in bits divided by the characters of the held-out text
     */
    public record Evaluation(double loss, double bitsPerCharacter) {
    }

    /**
     * One point of the learning curve.
     *
     * @param step       the steps taken
     * @param trainLoss  mean training loss per token since the previous point, in nats
     * @param evaluation the held-out evaluation at this step, or null when this point has none
     * @param seconds    training time so far in this run
     * @param tokensPerSecond training tokens per second since the previous point
     */
    public record Point(long step, double trainLoss, Evaluation evaluation, double seconds, double tokensPerSecond) {
    }

    private final Settings settings;

    /** A loop that trains with {@code settings}. */
    public TrainingLoop(Settings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("TrainingLoop: settings must not be null");
        }
        this.settings = settings;
    }

    /**
     * Trains {@code network} on {@code task}, reporting a point every {@link Settings#evaluateEvery()}
     * steps (with an evaluation) and at the end, and returns the curve. The network is left in
     * evaluation mode.
     *
     * @throws IllegalStateException if a training loss, a gradient, a parameter, the optimiser's state or
     *                               the final evaluation loss is NaN or infinite, naming it, the step and
     *                               the last good checkpoint
     */
    public List<Point> run(Module network, Task task, Consumer<Point> progress) {
        AdamW optimizer = new AdamW(network, settings.learningRate(), 0.9f, 0.95f, 1e-8f, settings.weightDecay());
        LearningRateSchedule schedule = LearningRateSchedule.cosineDecay(settings.learningRate(),
                settings.learningRate() * 0.1, settings.warmupSteps(), settings.steps() - settings.warmupSteps());
        long step = settings.resumeFrom() == null ? 0 : resume(network, optimizer, task.identity());
        if (step > 0 && task.usesDropout()) {
            replay(network, task, step);
        }
        Path checkpoint = settings.checkpointDirectory() == null ? null
                : createDirectory(settings.checkpointDirectory()).resolve(CHECKPOINT_FILE);
        Guard guard = new Guard(step > 0 ? settings.resumeFrom() : null, step);
        Map<String, Tensor> parameters = network.namedParameters();
        List<Point> curve = new ArrayList<>();
        long start = System.nanoTime();
        long intervalStart = start;
        double lossSum = 0;
        long tokens = 0;
        int batches = 0;
        network.train();
        while (step < settings.steps()) {
            Batch batch = task.trainingBatch(step + 1);
            float value = batch.loss().item();
            if (!Float.isFinite(value)) {
                throw guard.diverged("training loss is " + value, step + 1);
            }
            batch.loss().backward();
            Optional<String> badGradient = NonFinite.gradient(parameters);
            if (badGradient.isPresent()) {
                throw guard.diverged("the gradient of parameter '" + badGradient.get() + "' holds NaN or infinite values",
                        step + 1);
            }
            if (settings.gradientClip() > 0f) {
                GradientClipping.clipGradNorm(network.parameters(), settings.gradientClip());
            }
            schedule.applyTo(optimizer);
            optimizer.step();
            optimizer.zeroGrad();
            step++;
            Optional<String> badParameter = NonFinite.value(parameters);
            if (badParameter.isPresent()) {
                throw guard.diverged("parameter '" + badParameter.get() + "' holds NaN or infinite values after the "
                        + "update", step);
            }
            lossSum += value;
            tokens += batch.tokens();
            batches++;
            boolean outOfTime = settings.maxSeconds() > 0 && (System.nanoTime() - start) / 1e9 >= settings.maxSeconds();
            boolean last = step == settings.steps() || outOfTime;
            if (checkpoint != null && (step % settings.checkpointEvery() == 0 || last)) {
                guard.save(checkpoint, network, optimizer, task, step);
            }
            if (step % settings.evaluateEvery() == 0 || last) {
                long now = System.nanoTime();
                Evaluation evaluation = evaluate(network, task);
                Point point = new Point(step, lossSum / batches, evaluation, (now - start) / 1e9,
                        tokens / ((now - intervalStart) / 1e9));
                curve.add(point);
                progress.accept(point);
                intervalStart = System.nanoTime();
                start += intervalStart - now;                        // evaluation time is not training time
                lossSum = 0;
                tokens = 0;
                batches = 0;
            }
            if (outOfTime) {
                break;
            }
        }
        network.eval();
        return curve;
    }

    /**
     * The non-finite guard's memory: the last checkpoint known to be good (the one resumed from,
     * then each one written), which a divergence names, and the writing of checkpoints, which
     * refuses non-finite optimiser state as a divergence too.
     */
    private final class Guard {
        private Path lastGood;
        private long lastGoodStep;

        Guard(Path resumedFrom, long resumedStep) {
            this.lastGood = resumedFrom;
            this.lastGoodStep = resumedStep;
        }

        /** The exception that stops a diverged run: what is not finite, at which step, and where to resume from. */
        IllegalStateException diverged(String what, long step) {
            return new IllegalStateException(what + " at step " + step + "; lower learningRate ("
                    + settings.learningRate() + "), set gradientClip or check the data"
                    + (lastGood == null ? "; no checkpoint was written" : "; the last good checkpoint, of step "
                    + lastGoodStep + ", is " + lastGood));
        }

        /**
         * Writes the checkpoint of {@code step} once the weights have given a finite loss on the
         * next step's batch, run in evaluation mode without a graph (no dropout mask is drawn, so
         * a resumed run still replays the same ones).
         */
        void save(Path path, Module network, AdamW optimizer, Task task, long step) {
            float next;
            network.eval();
            try (GradMode.Scope ignored = GradMode.noGrad()) {
                next = task.trainingBatch(step + 1).loss().item();
            } finally {
                network.train();
            }
            if (!Float.isFinite(next)) {
                throw diverged("training loss is " + next, step + 1);
            }
            try {
                Checkpoint.save(path, network, optimizer, step, 0, new TreeMap<>(task.identity()));
            } catch (IOException e) {
                throw new UncheckedIOException("writing checkpoint " + path + " failed: " + FileErrors.describe(e), e);
            } catch (IllegalStateException e) {
                throw diverged("the state could not be checkpointed (" + e.getMessage() + ")", step);
            }
            lastGood = path;
            lastGoodStep = step;
        }
    }

    /** Runs the forward passes of steps 1 … {@code steps} without a graph, advancing the dropout generators. */
    private static void replay(Module network, Task task, long steps) {
        network.train();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            for (long s = 1; s <= steps; s++) {
                task.trainingBatch(s);
            }
        }
    }

    private static Evaluation evaluate(Module network, Task task) {
        network.eval();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return task.evaluate();
        } finally {
            network.train();
        }
    }

    /** Restores the checkpoint after checking it belongs to this task; returns its step. */
    private long resume(Module network, AdamW optimizer, Map<String, String> identity) {
        Path path = settings.resumeFrom();
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("resumeFrom = " + path + ": no such file");
        }
        Checkpoint checkpoint;
        try {
            checkpoint = Checkpoint.load(path);
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoint resumeFrom = " + path + " failed: " + FileErrors.describe(e),
                    e);
        }
        identity.forEach((key, expected) -> {
            String found = checkpoint.metadata().get(key);
            if (!expected.equals(found)) {
                throw new IllegalArgumentException("resumeFrom = " + path + " was written with " + key + " = " + found
                        + " but this run has " + key + " = " + expected + "; resume with the same configuration and data");
            }
        });
        if (checkpoint.step() >= settings.steps()) {
            throw new IllegalArgumentException("resumeFrom = " + path + " is at step " + checkpoint.step()
                    + ", not before the last step " + settings.steps() + "; raise steps to train further");
        }
        try {
            checkpoint.restore(network, optimizer);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("resumeFrom = " + path + " does not match this architecture: "
                    + e.getMessage(), e);
        }
        return checkpoint.step();
    }

    private static Path createDirectory(Path directory) {
        try {
            return Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("checkpointDirectory = " + directory + " cannot be created: "
                    + FileErrors.describe(e), e);
        }
    }
}
