package org.xformers4j.decoding.processing;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.xformers4j.component.decoding.StoppingCriterion;

/**
 * Stops every row once a time budget, counted from the criterion's construction, is spent (Hugging
 * Face's {@code MaxTimeCriteria}): rows end with the token produced when the time ran out. Since
 * the clock starts when the criterion is built, build one per {@code generate} call.
 */
public final class MaxTime implements StoppingCriterion {

    private final long limitNanos;
    private final LongSupplier nanoClock;
    private final long startNanos;

    /** A budget of {@code limit} on {@link System#nanoTime()}. */
    public MaxTime(Duration limit) {
        this(limit, System::nanoTime);
    }

    /**
     * @param limit     the time budget, &gt; 0
     * @param nanoClock a monotonic clock in nanoseconds, read now and at every check
     * @throws IllegalArgumentException naming the limit if it is not positive
     */
    public MaxTime(Duration limit, LongSupplier nanoClock) {
        if (limit == null || limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("max time must be > 0, got " + limit);
        }
        if (nanoClock == null) {
            throw new IllegalArgumentException("nanoClock must not be null");
        }
        this.limitNanos = limit.toNanos();
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    @Override
    public boolean isDone(int[] tokens, int generated) {
        return nanoClock.getAsLong() - startNanos >= limitNanos;
    }
}
