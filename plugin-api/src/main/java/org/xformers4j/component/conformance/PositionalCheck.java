package org.xformers4j.component.conformance;

/**
 * One named check of the positional conformance suite. Problems are small: batch
 * {@value #BATCH}, {@value #HEADS} heads of size {@value #HEAD_DIM} (model width
 * {@value #MODEL_DIM}), {@value #LENGTH} positions unless a check needs more.
 */
interface PositionalCheck extends Check<PositionalSubject> {

    /** Seed of the random inputs; each check derives its own from it, so results do not depend on order. */
    long SEED = 5151L;

    int BATCH = 2;
    int HEADS = 2;
    /** Even, as rotations act on pairs of dimensions. */
    int HEAD_DIM = 8;
    int MODEL_DIM = HEADS * HEAD_DIM;
    int LENGTH = 8;
}
