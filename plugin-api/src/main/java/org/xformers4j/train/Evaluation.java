package org.xformers4j.train;

import java.util.Map;

/**
 * A held-out evaluation.
 *
 * @param loss    the mean held-out loss, which early stopping minimises
 * @param metrics further measures by name (bits per character, accuracy, …), in a stable order
 */
public record Evaluation(double loss, Map<String, Double> metrics) {

    public Evaluation {
        metrics = Map.copyOf(metrics);
    }

    /** An evaluation with no metric but the loss. */
    public static Evaluation ofLoss(double loss) {
        return new Evaluation(loss, Map.of());
    }

    /** The metric called {@code name}. */
    public double metric(String name) {
        Double value = metrics.get(name);
        if (value == null) {
            throw new IllegalArgumentException("no metric '" + name + "' in " + metrics.keySet());
        }
        return value;
    }
}
