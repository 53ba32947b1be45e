package org.xformers4j.train;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenancable;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import org.xformers4j.component.Hyperparameters;
import org.xformers4j.component.Range;

/**
 * The settings of a training run that every trainer shares, as one OLCUT configuration: the batch
 * and its split into micro-batches, the seed, the held-out fraction, early stopping, the time budget
 * and checkpoints. Every numeric field carries its {@link Range}, checked by {@link #postConfig()}
 * through {@link Hyperparameters#validate}; how long a run is (epochs or steps) and how often it is
 * evaluated belong to each trainer, because they mean different things to them.
 *
 * <pre>{@code
 * <component name="run" type="org.xformers4j.train.RunSettings">
 *   <property name="batchSize" value="32"/>
 *   <property name="checkpointDirectory" value="runs/char-lm"/>
 * </component>
 * }</pre>
 */
public final class RunSettings implements Configurable, Provenancable<ConfiguredObjectProvenance> {

    @Config(description = "Items (examples, windows) per optimiser step.")
    @Range(min = 1, max = Integer.MAX_VALUE)
    private int batchSize = 32;

    @Config(description = "Micro-batches each step's batch is split into, their gradients summed before the update "
            + "(gradient accumulation: the same step with less memory); at most batchSize.")
    @Range(min = 1, max = Integer.MAX_VALUE)
    private int gradientAccumulation = 1;

    @Config(description = "Seed of every random choice: the split, the initial weights, the batches, dropout.")
    private long seed = 1;

    @Config(description = "Fraction of the data held out for evaluation, in [0, 1); 0 for none (trainers that "
            + "need held-out data refuse 0).")
    @Range(min = 0, max = 1, maxInclusive = false)
    private float validationFraction = 0.1f;

    @Config(description = "Early stopping: evaluations without a better held-out loss before training stops and "
            + "the best weights are restored; 0 for none.")
    @Range(min = 0, max = Integer.MAX_VALUE)
    private int patience = 0;

    @Config(description = "Stop training after this many minutes even if steps remain; 0 for no limit.")
    @Range(min = 0, max = 1e9)
    private double maxMinutes = 0;

    @Config(description = "Directory for the checkpoint " + TrainingLoop.CHECKPOINT_FILE + " (and "
            + EarlyStopping.BEST_FILE + " with early stopping), created if missing; empty for none.")
    private String checkpointDirectory = "";

    @Config(description = "Optimiser steps between checkpoints.")
    @Range(min = 1, max = Integer.MAX_VALUE)
    private int checkpointEvery = 500;

    @Config(description = "Checkpoint file to resume from, written by a run with the same configuration and data; "
            + "empty to start afresh.")
    private String resumeFrom = "";

    /** The defaults above; change them with {@link #builder()} or OLCUT. */
    public RunSettings() {
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void postConfig() {
        Hyperparameters.validate(this);
        if (gradientAccumulation > batchSize) {
            throw new PropertyException("", "gradientAccumulation", "gradientAccumulation = " + gradientAccumulation
                    + " splits a batch of batchSize = " + batchSize + " into empty micro-batches");
        }
        path("checkpointDirectory", checkpointDirectory);
        path("resumeFrom", resumeFrom);
    }

    private static void path(String field, String value) {
        if (value == null) {
            throw new PropertyException("", field, field + " must not be null (empty for none)");
        }
        try {
            Path.of(value);
        } catch (InvalidPathException e) {
            throw new PropertyException(e, "", field, field + " = '" + value + "' is not a valid path: "
                    + e.getReason());
        }
    }

    public int batchSize() {
        return batchSize;
    }

    public int gradientAccumulation() {
        return gradientAccumulation;
    }

    public long seed() {
        return seed;
    }

    public float validationFraction() {
        return validationFraction;
    }

    public int patience() {
        return patience;
    }

    public double maxMinutes() {
        return maxMinutes;
    }

    /** The checkpoint directory, or null for none. */
    public Path checkpointDirectory() {
        return checkpointDirectory.isEmpty() ? null : Path.of(checkpointDirectory);
    }

    public int checkpointEvery() {
        return checkpointEvery;
    }

    /** The checkpoint to resume from, or null to start afresh. */
    public Path resumeFrom() {
        return resumeFrom.isEmpty() ? null : Path.of(resumeFrom);
    }

    /** Its configuration, for the provenance of the models it trains (Tribuo's and OLCUT's record of a run). */
    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "RunSettings");
    }

    @Override
    public String toString() {
        return "RunSettings(batchSize=" + batchSize + ", gradientAccumulation=" + gradientAccumulation + ", seed="
                + seed + ", validationFraction=" + validationFraction + ", patience=" + patience + ", maxMinutes="
                + maxMinutes + ", checkpointDirectory='" + checkpointDirectory + "', checkpointEvery="
                + checkpointEvery + ", resumeFrom='" + resumeFrom + "')";
    }

    /** Sets the fields from code, each setter named after its {@code @Config} field; {@link #build()} checks them. */
    public static final class Builder {
        private final RunSettings s = new RunSettings();

        private Builder() {
        }

        public Builder batchSize(int value) {
            s.batchSize = value;
            return this;
        }

        public Builder gradientAccumulation(int value) {
            s.gradientAccumulation = value;
            return this;
        }

        public Builder seed(long value) {
            s.seed = value;
            return this;
        }

        public Builder validationFraction(float value) {
            s.validationFraction = value;
            return this;
        }

        public Builder patience(int value) {
            s.patience = value;
            return this;
        }

        public Builder maxMinutes(double value) {
            s.maxMinutes = value;
            return this;
        }

        public Builder checkpointDirectory(String value) {
            s.checkpointDirectory = value;
            return this;
        }

        public Builder checkpointEvery(int value) {
            s.checkpointEvery = value;
            return this;
        }

        public Builder resumeFrom(String value) {
            s.resumeFrom = value;
            return this;
        }

        /** The settings, after {@link RunSettings#postConfig()} has checked every field. */
        public RunSettings build() {
            s.postConfig();
            return s;
        }
    }
}
