package org.xformers4j.compute.cpu;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The CPU backend's fixed pool of worker threads.
 *
 * <p>{@link #forRange} splits an index range into contiguous chunks and runs them on the pool, the
 * calling thread taking part, and returns when every chunk is done. Chunking only decides which
 * thread computes which independent outputs, so no result depends on the number of threads.
 * A {@code forRange} called from inside a chunk (a nested call) runs inline on the calling thread.
 *
 * <p>The process-wide instance ({@link #shared()}) has as many threads as the system property
 * {@value #THREADS_PROPERTY} says, or {@link Runtime#availableProcessors()} without it. Workers are
 * daemon threads named {@code xformers4j-cpu-N}.
 */
public final class Parallel {

    /** System property overriding the size of the {@link #shared()} pool. */
    public static final String THREADS_PROPERTY = "xformers4j.cpu.threads";

    /** The work of one contiguous chunk {@code [from, to)}. */
    @FunctionalInterface
    public interface IntRangeBody {
        void run(int from, int to);
    }

    private static final AtomicInteger THREAD_IDS = new AtomicInteger();
    private static volatile Parallel shared;

    /** Set on pool threads and on a caller while it runs a job, so nested calls run inline. */
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final int threads;
    private final Worker[] workers;
    /** Serialises jobs from different caller threads: one job on the pool at a time. */
    private final Object submitLock = new Object();

    /**
     * Creates a pool of {@code threads} threads in all: the caller of {@link #forRange} is one of
     * them, so {@code threads - 1} workers are started.
     */
    public Parallel(int threads) {
        if (threads <= 0) {
            throw new IllegalArgumentException("threads must be positive, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            Thread t = new Thread(workers[i], "xformers4j-cpu-" + THREAD_IDS.incrementAndGet());
            t.setDaemon(true);
            workers[i].thread = t;
            t.start();
        }
    }

    /** The process-wide pool, created on first use; see {@link #THREADS_PROPERTY}. */
    public static Parallel shared() {
        Parallel p = shared;
        if (p == null) {
            synchronized (Parallel.class) {
                p = shared;
                if (p == null) {
                    p = new Parallel(threadsFromProperty());
                    shared = p;
                }
            }
        }
        return p;
    }

    static int threadsFromProperty() {
        String value = System.getProperty(THREADS_PROPERTY);
        if (value == null) {
            return Runtime.getRuntime().availableProcessors();
        }
        int n;
        try {
            n = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "system property " + THREADS_PROPERTY + " must be a positive integer, got '" + value + "'", e);
        }
        if (n <= 0) {
            throw new IllegalArgumentException(
                    "system property " + THREADS_PROPERTY + " must be a positive integer, got '" + value + "'");
        }
        return n;
    }

    /** The number of threads that run chunks, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into contiguous chunks of at least {@code grain}
     * items, and waits for all of them. Chunks are claimed dynamically by the calling thread and
     * the workers, a few per thread, so a thread slowed down by other load on its core does not
     * hold up the rest. The first exception thrown by a chunk is rethrown here once every chunk
     * has finished or been skipped.
     */
    public void forRange(int n, int grain, IntRangeBody body) {
        Objects.requireNonNull(body, "body");
        if (n < 0) {
            throw new IllegalArgumentException("n must be non-negative, got " + n);
        }
        if (n == 0) {
            return;
        }
        int g = Math.max(1, grain);
        int maxChunks = n / g;
        if (threads == 1 || maxChunks <= 1 || INSIDE.get()) {
            body.run(0, n);
            return;
        }
        int chunks = (int) Math.min(maxChunks, (long) threads * CHUNKS_PER_THREAD);
        synchronized (submitLock) {
            Job job = new Job(body, n, chunks);
            int helpers = Math.min(workers.length, chunks - 1);
            for (int w = 0; w < helpers; w++) {
                workers[w].submit(job);
            }
            INSIDE.set(Boolean.TRUE);
            try {
                job.work();
            } finally {
                INSIDE.set(Boolean.FALSE);
            }
            job.await();
            Throwable t = job.failure;
            if (t != null) {
                if (t instanceof RuntimeException) {
                    throw (RuntimeException) t;
                }
                if (t instanceof Error) {
                    throw (Error) t;
                }
                throw new RuntimeException(t);
            }
        }
    }

    /** Chunks per thread: enough to rebalance when a core is busy, few enough to stay cheap. */
    private static final int CHUNKS_PER_THREAD = 4;

    /**
     * How long a worker waiting for the next job, or a caller waiting for its chunks, spins before it
     * parks: long enough to bridge the gap between the small jobs of one decoding or training step
     * (waking a parked thread costs tens of microseconds), short enough that an idle pool sleeps.
     */
    private static final long SPIN_NANOS = 50_000;

    private static final class Job {
        final IntRangeBody body;
        final int n;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        /** Chunks not yet finished. */
        final AtomicInteger pending;
        final Thread caller = Thread.currentThread();
        volatile Throwable failure;

        Job(IntRangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.pending = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none are left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                if (failure == null) {
                    int from = (int) ((long) n * c / chunks);
                    int to = (int) ((long) n * (c + 1) / chunks);
                    try {
                        body.run(from, to);
                    } catch (Throwable t) {
                        synchronized (this) {
                            if (failure == null) {
                                failure = t;
                            }
                        }
                    }
                }
                if (pending.decrementAndGet() == 0) {
                    LockSupport.unpark(caller);
                }
            }
        }

        /** Waits until every chunk has finished: spins for {@link #SPIN_NANOS}, then parks. */
        void await() {
            long start = System.nanoTime();
            while (pending.get() != 0) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }

    private static final class Worker implements Runnable {
        Thread thread;
        private final AtomicReference<Job> job = new AtomicReference<>();

        void submit(Job j) {
            job.set(j);
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            INSIDE.set(Boolean.TRUE);
            while (true) {
                Job j = job.get();
                if (j == null) {
                    long start = System.nanoTime();
                    while ((j = job.get()) == null && System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    }
                    if (j == null) {
                        LockSupport.park(this);
                        continue;
                    }
                }
                // a newer job may have replaced j meanwhile: clear only our own
                job.compareAndSet(j, null);
                j.work();
            }
        }
    }
}
