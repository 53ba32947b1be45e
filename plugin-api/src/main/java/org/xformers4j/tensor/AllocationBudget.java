package org.xformers4j.tensor;

import java.util.Arrays;

/**
 * A limit, for one scope on one thread, on the tensor elements that may be created: what a loader
 * opens around building a network from an untrusted file, so that an architecture the file only
 * claims (a learned position table of 10⁹ rows, a layer a million wide, in a file of a few
 * kilobytes) is refused with a clear error before it is allocated, instead of ending in an
 * {@link OutOfMemoryError} that would take the host down with it.
 * <pre>{@code
 * try (AllocationBudget budget = AllocationBudget.open(floatsInTheFile + slack, "model " + file)) {
 *     network = build(architecture);          // throws IllegalArgumentException past the budget
 * }
 * }</pre>
 *
 * <p>Every factory that allocates a tensor from a shape ({@link Tensor#zeros}, {@link Tensor#rand},
 * {@link Tensor#randn}, {@code Init.normal} and what is built on them: every parameter of every
 * layer) asks {@link #elements} for the size of the shape it is about to allocate, which charges every open budget of the calling thread before
 * anything is allocated. Outside a scope nothing is charged. Scopes nest; closing one
 * restores the one it was opened in (try-with-resources). A budget belongs to the thread that
 * opened it: work handed to other threads is not charged.
 */
public final class AllocationBudget implements AutoCloseable {

    /** What {@link #forStoredWeights} allows beyond the stored weights: 16 Mi elements, 64 MiB of floats. */
    public static final long UNSTORED_ELEMENTS = 16L << 20;

    private static final ThreadLocal<AllocationBudget> CURRENT = new ThreadLocal<>();

    private final long limit;
    private final String what;
    private final AllocationBudget outer;
    private final Thread owner = Thread.currentThread();
    private long used;

    private AllocationBudget(long limit, String what, AllocationBudget outer) {
        this.limit = limit;
        this.what = what;
        this.outer = outer;
    }

    /**
     * Opens a budget of {@code maxElements} tensor elements (floats) for the calling thread.
     *
     * @param what names what is being built, for the error message (for example {@code "model /path/model.x4j"})
     */
    public static AllocationBudget open(long maxElements, String what) {
        if (maxElements < 0) {
            throw new IllegalArgumentException("AllocationBudget: maxElements must be >= 0, got " + maxElements);
        }
        AllocationBudget budget = new AllocationBudget(maxElements, what, CURRENT.get());
        CURRENT.set(budget);
        return budget;
    }

    /**
     * Opens the budget for building a network whose weights are to be loaded from a file holding
     * {@code storedElements} of them: those, plus {@link #UNSTORED_ELEMENTS} for what a network
     * allocates but does not store (fixed position tables, caches, initial values later overwritten).
     */
    public static AllocationBudget forStoredWeights(long storedElements, String what) {
        return open(Math.max(0, storedElements) + UNSTORED_ELEMENTS, what);
    }

    /**
     * The number of elements of {@code shape}, charged to the calling thread's open budgets, if any;
     * to be called before allocating them.
     *
     * @throws IllegalArgumentException if a size is negative, the shape has more elements than a
     *                                  tensor can hold, or an open budget would be exceeded (then nothing is charged)
     */
    public static int elements(int... shape) {
        long n = 1;
        for (int size : shape) {
            if (size < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative size");
            }
            n = size == 0 || n <= Integer.MAX_VALUE / size ? n * size : (long) Integer.MAX_VALUE + 1;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more elements than a tensor "
                    + "can hold (" + Integer.MAX_VALUE + ")");
        }
        for (AllocationBudget b = CURRENT.get(); b != null; b = b.outer) {
            if (n > b.limit - b.used) {
                throw new IllegalArgumentException(b.what + ": building it would allocate more than the " + b.limit
                        + " tensor elements it may need (a tensor of shape " + Arrays.toString(shape) + " after "
                        + b.used + " elements); its architecture does not fit the weights it holds");
            }
        }
        for (AllocationBudget b = CURRENT.get(); b != null; b = b.outer) {
            b.used += n;
        }
        return (int) n;
    }

    /** The elements charged to this budget so far. */
    public long used() {
        return used;
    }

    /** Closes this scope: the budget it was opened in, if any, applies again. */
    @Override
    public void close() {
        if (Thread.currentThread() != owner || CURRENT.get() != this) {
            throw new IllegalStateException("AllocationBudget for " + what + " closed out of order or on another thread");
        }
        if (outer == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(outer);
        }
    }
}
