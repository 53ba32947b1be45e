/**
 * The one training loop every trainer runs ({@link org.xformers4j.train.TrainingLoop}): a trainer
 * supplies a {@link org.xformers4j.train.TrainingTask} (the batch of a step as a function of the
 * step, the held-out evaluation, what identifies the run) and listeners; the loop owns the step —
 * gradient accumulation, the gradient-synchronisation hook, clipping, the optimiser and schedule of
 * an {@link org.xformers4j.train.Optimization}, evaluation, atomic checkpoints and bit-exact resume
 * — and its listeners watch it: the non-finite guard, early stopping with best-weights restore, the
 * time budget and progress (as DJL's {@code TrainingListener}s). Their settings are one
 * {@link org.xformers4j.train.RunSettings}.
 */
@Export
@Version("0.2.0")
package org.xformers4j.train;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
