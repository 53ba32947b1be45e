package org.xformers4j.tensor;

import java.util.random.RandomGenerator;

/**
 * A seeded generator whose state can be saved and restored ({@link ReplayableState}), for
 * randomness that a recomputation must draw again (dropout masks under {@link
 * ActivationCheckpoint}). It is the SplitMix64 algorithm of {@link java.util.SplittableRandom}
 * (Steele, Lea and Flood, 2014, "Fast Splittable Pseudorandom Number Generators") with the state,
 * one 64-bit counter, exposed: {@code new ReplayableRandom(seed)} draws exactly the values {@code
 * new SplittableRandom(seed)} draws, method for method, so a layer that switches to it keeps its
 * masks. Not thread-safe, as {@code SplittableRandom} is not.
 */
public final class ReplayableRandom implements RandomGenerator, ReplayableState {

    /** SplittableRandom's increment for a generator built from a seed: the odd integer closest to 2^64/φ. */
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    private long seed;

    /** A generator drawing what {@code new SplittableRandom(seed)} draws. */
    public ReplayableRandom(long seed) {
        this.seed = seed;
    }

    @Override
    public long nextLong() {
        return mix64(nextSeed());
    }

    @Override
    public int nextInt() {
        return mix32(nextSeed());
    }

    /**
     * Reserves the next {@code draws} outputs for a caller that computes them itself (a backend's
     * dropout kernel, output i + 1 from the returned state): returns the current state and moves
     * past them, so later draws are those that would follow {@code draws} calls of {@link #nextInt()}.
     */
    public long reserve(long draws) {
        long state = seed;
        seed += draws * GOLDEN_GAMMA;
        return state;
    }

    private long nextSeed() {
        return seed += GOLDEN_GAMMA;
    }

    /** Stafford's variant 13 of the 64-bit finaliser, as SplittableRandom. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The high 32 bits of Stafford's variant 4, as SplittableRandom. */
    private static int mix32(long z) {
        z = (z ^ (z >>> 33)) * 0x62a9d9ed799705f5L;
        return (int) (((z ^ (z >>> 28)) * 0xcb24d0a5c88c35b3L) >>> 32);
    }

    /** The state: a {@link Long}. */
    @Override
    public Object saveState() {
        return seed;
    }

    @Override
    public void restoreState(Object state) {
        if (!(state instanceof Long value)) {
            throw new IllegalArgumentException("ReplayableRandom: a saved state is a Long, got " + state);
        }
        seed = value;
    }
}
