package org.xformers4j.train;

/**
 * One point of the learning curve, reported every {@code evaluateEvery} steps and at the end.
 *
 * @param step           the optimiser steps taken
 * @param trainLoss      the mean training loss per item since the previous point (weighted by the items of each batch)
 * @param evaluation     the held-out evaluation at this step, or null when the task has none
 * @param seconds        training time of this run so far, evaluations excluded
 * @param itemsPerSecond training items (tokens, examples) per second since the previous point
 * @param learningRate   the learning rate of the last step
 */
public record Point(long step, double trainLoss, Evaluation evaluation, double seconds, double itemsPerSecond,
                    double learningRate) {
}
