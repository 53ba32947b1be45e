package org.xformers4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.xformers4j.io.Checkpoint;
import org.xformers4j.nn.ParameterState;

/**
 * Early stopping (Prechelt, 1998, "Early Stopping — But When?"): keeps the weights of the best
 * held-out loss so far, stops the run after {@code patience} evaluations without improvement, and
 * puts the best weights back into the network when the run ends, stopped early or not.
 *
 * <p>When the run writes checkpoints, each improvement writes the best weights to {@value #BEST_FILE}
 * beside them and then asks for a checkpoint that refers to them by step, so a checkpoint never
 * names best weights that are not on disk; a resumed run reads them back and ends with the same
 * weights as an uninterrupted one.
 */
public final class EarlyStopping implements TrainingListener {

    /** The file beside the checkpoint that holds the best weights so far. */
    public static final String BEST_FILE = "best.x4j";

    private static final String BEST_LOSS = "earlyStopping.bestLoss";
    private static final String BEST_STEP = "earlyStopping.bestStep";
    private static final String WAITED = "earlyStopping.evaluationsWithoutImprovement";

    private final int patience;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private long bestStep = -1;
    private int waited;
    private Map<String, ParameterState> best;

    /** Stops after {@code patience} > 0 evaluations without a better held-out loss. */
    public EarlyStopping(int patience) {
        if (patience <= 0) {
            throw new IllegalArgumentException("EarlyStopping: patience must be > 0, got " + patience);
        }
        this.patience = patience;
    }

    @Override
    public void onPoint(TrainingState state, Point point) {
        if (point.evaluation() == null) {
            return;
        }
        double loss = point.evaluation().loss();
        if (loss < bestLoss) {
            bestLoss = loss;
            bestStep = point.step();
            best = state.network().stateDict();
            waited = 0;
            if (state.checkpointDirectory().isPresent()) {
                Path path = state.checkpointDirectory().get().resolve(BEST_FILE);
                try {
                    Checkpoint.save(path, state.network(), null, bestStep, 0, Map.of());
                } catch (IOException e) {
                    throw new UncheckedIOException("writing the best weights to " + path + " failed: " + e, e);
                }
                state.requestCheckpoint();
            }
        } else if (++waited >= patience) {
            state.stop("early stopping: no better held-out loss in " + patience + " evaluations (best "
                    + bestLoss + " at step " + bestStep + ")");
        }
    }

    @Override
    public void onEnd(TrainingState state) {
        if (best != null) {
            state.network().loadStateDict(best);
        }
    }

    /** The step whose weights are the best so far, -1 before the first evaluation. */
    public long bestStep() {
        return bestStep;
    }

    @Override
    public Map<String, String> checkpointState() {
        return Map.of(BEST_LOSS, Double.toString(bestLoss), BEST_STEP, Long.toString(bestStep),
                WAITED, Integer.toString(waited));
    }

    @Override
    public void restore(Map<String, String> metadata, Path checkpoint) {
        bestLoss = number(metadata, BEST_LOSS, checkpoint);
        bestStep = (long) number(metadata, BEST_STEP, checkpoint);
        waited = (int) number(metadata, WAITED, checkpoint);
        if (bestStep < 0) {
            return;
        }
        Path path = checkpoint.resolveSibling(BEST_FILE);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("resumeFrom = " + checkpoint + " refers to the best weights of step "
                    + bestStep + " but " + path + " does not exist");
        }
        Checkpoint saved;
        try {
            saved = Checkpoint.load(path);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the best weights " + path + " failed: " + e.getMessage(), e);
        }
        if (saved.step() != bestStep) {
            throw new IllegalArgumentException("resumeFrom = " + checkpoint + " refers to the best weights of step "
                    + bestStep + " but " + path + " holds step " + saved.step());
        }
        best = saved.modelState();
    }

    private static double number(Map<String, String> metadata, String key, Path checkpoint) {
        String value = metadata.get(key);
        if (value == null) {
            throw new IllegalArgumentException("resumeFrom = " + checkpoint + " has no '" + key + "' entry; it was "
                    + "written by a run without early stopping");
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("resumeFrom = " + checkpoint + ": '" + key + "' = '" + value
                    + "' is not a number");
        }
    }
}
