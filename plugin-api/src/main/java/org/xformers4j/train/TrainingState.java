package org.xformers4j.train;

import java.nio.file.Path;
import java.util.Optional;
import org.xformers4j.nn.Module;
import org.xformers4j.optim.Optimizer;

/** Where a {@link TrainingLoop} run stands, as its listeners see it; the loop alone advances it. */
public final class TrainingState {

    private final Module network;
    private final Optimizer optimizer;
    private final long totalSteps;
    private final long stepsPerEpoch;
    private final Path checkpointDirectory;
    private long step;
    private long items;
    private String stopReason;
    private boolean checkpointRequested;
    private Path lastCheckpoint;
    private long lastCheckpointStep = -1;
    private long trainingNanos;

    TrainingState(Module network, Optimizer optimizer, long totalSteps, long stepsPerEpoch, Path checkpointDirectory) {
        this.network = network;
        this.optimizer = optimizer;
        this.totalSteps = totalSteps;
        this.stepsPerEpoch = stepsPerEpoch;
        this.checkpointDirectory = checkpointDirectory;
    }

    /** The network being trained. */
    public Module network() {
        return network;
    }

    /** The optimiser updating it. */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** Optimiser steps taken, counting those of the run resumed from. */
    public long step() {
        return step;
    }

    /** The steps the run is configured for. */
    public long totalSteps() {
        return totalSteps;
    }

    /** The steps of one pass over the training data, 0 when the task does not go in epochs ({@link TrainingTask#stepsPerEpoch()}). */
    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** The training items (tokens, examples) of the micro-batches this run has computed, those of a resumed run excluded. */
    public long items() {
        return items;
    }

    /** Training time of this run so far, evaluations and checkpoints excluded, in seconds. */
    public double trainingSeconds() {
        return trainingNanos / 1e9;
    }

    /** Ends the run after the current step, with its last point and checkpoint; the first reason given is kept. */
    public void stop(String reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
    }

    /** Why the run stopped early, if it did. */
    public Optional<String> stopReason() {
        return Optional.ofNullable(stopReason);
    }

    /** Asks for a checkpoint of the current weights as soon as this step's listeners are done (when checkpointing). */
    public void requestCheckpoint() {
        checkpointRequested = true;
    }

    /** The directory checkpoints go to, when the run writes them. */
    public Optional<Path> checkpointDirectory() {
        return Optional.ofNullable(checkpointDirectory);
    }

    /** The last checkpoint known to be good (the one resumed from, then each one written), with its step. */
    public Optional<Path> lastCheckpoint() {
        return Optional.ofNullable(lastCheckpoint);
    }

    /** The step of {@link #lastCheckpoint()}, -1 when there is none. */
    public long lastCheckpointStep() {
        return lastCheckpointStep;
    }

    void advance() {
        step++;
    }

    void resumedAt(long resumedStep, Path checkpoint) {
        step = resumedStep;
        checkpointWritten(checkpoint, resumedStep);
    }

    void checkpointWritten(Path path, long atStep) {
        lastCheckpoint = path;
        lastCheckpointStep = atStep;
    }

    boolean takeCheckpointRequest() {
        boolean requested = checkpointRequested;
        checkpointRequested = false;
        return requested;
    }

    boolean stopped() {
        return stopReason != null;
    }

    void addItems(long count) {
        items += count;
    }

    void addTrainingTime(long nanos) {
        trainingNanos += nanos;
    }
}
