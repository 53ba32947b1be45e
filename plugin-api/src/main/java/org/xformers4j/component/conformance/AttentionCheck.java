package org.xformers4j.component.conformance;

/** One named check of the attention conformance suite. */
interface AttentionCheck extends Check<Subject> {

    /** Seed of the random problems; each check derives its own from it, so results do not depend on order. */
    long SEED = 4242L;

    /** Largest change of an output that must not change at all; exact in practice, but sums may be reordered. */
    double UNCHANGED = 1e-6;
}
