package org.xformers4j.compute;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * Finds compute backends and picks the default one: the available backend with the highest
 * priority, unless the system property {@code xformers4j.backend} names one ({@code cpu},
 * {@code cuda}).
 *
 * <p><b>Where a network lives.</b> A layer creates its parameters and fixed tables on
 * {@link #defaultBackend()} when it is constructed; everything it creates afterwards (in a forward
 * pass, a training step, a decoding session) comes from the backend of its inputs and parameters,
 * never from the default. To build a network on another backend, construct it inside
 * {@link #use(ComputeBackend)}, which changes the default for the calling thread only, as
 * {@code with torch.device(...)} does in PyTorch:
 * <pre>{@code
 * Linear layer;
 * try (Backends.Scope ignored = Backends.use(gpu)) {
 *     layer = new Linear(16, 4, true, rng);    // weight and bias on gpu
 * }
 * layer.forward(x);                            // x on gpu: runs there, whatever the default is now
 * }</pre>
 */
public final class Backends {

    /** System property that overrides automatic backend selection. */
    public static final String BACKEND_PROPERTY = "xformers4j.backend";

    private static volatile ComputeBackend defaultBackend;

    /** The backend of the calling thread's innermost {@link #use} scope, if any. */
    private static final ThreadLocal<ComputeBackend> SCOPED = new ThreadLocal<>();

    private Backends() {
    }

    /** Every backend on the class path, available or not, highest priority first. */
    public static List<ComputeBackend> discover() {
        List<ComputeBackend> found = new ArrayList<>();
        ServiceLoader.load(ComputeBackend.class, Backends.class.getClassLoader()).forEach(found::add);
        found.sort(Comparator.comparingInt(ComputeBackend::priority).reversed());
        return found;
    }

    /**
     * The backend new tensors use unless told otherwise: that of the calling thread's innermost
     * {@link #use} scope, else the process-wide default.
     */
    public static ComputeBackend defaultBackend() {
        ComputeBackend scoped = SCOPED.get();
        if (scoped != null) {
            return scoped;
        }
        ComputeBackend backend = defaultBackend;
        if (backend == null) {
            synchronized (Backends.class) {
                if (defaultBackend == null) {
                    defaultBackend = select(discover(), System.getProperty(BACKEND_PROPERTY));
                }
                backend = defaultBackend;
            }
        }
        return backend;
    }

    /**
     * Makes {@code backend} the process-wide default for tensors created from now on, on every
     * thread (outside {@link #use} scopes). Networks already built stay where they are.
     */
    public static void setDefaultBackend(ComputeBackend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        defaultBackend = backend;
    }

    /**
     * Makes {@code backend} the {@link #defaultBackend()} of the calling thread until the returned
     * scope is closed, which restores the previous one (use try-with-resources): the way to build
     * a network, or load one, on a backend other than the process-wide default. Scopes nest; other
     * threads are not affected.
     */
    public static Scope use(ComputeBackend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        ComputeBackend previous = SCOPED.get();
        SCOPED.set(backend);
        return () -> {
            if (previous == null) {
                SCOPED.remove();
            } else {
                SCOPED.set(previous);
            }
        };
    }

    /** Restores the previous default backend of the thread when closed; see {@link #use}. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    static ComputeBackend select(List<ComputeBackend> candidates, String requested) {
        if (requested != null && !requested.isBlank()) {
            String name = requested.trim().toLowerCase(Locale.ROOT);
            for (ComputeBackend backend : candidates) {
                if (backend.name().equals(name)) {
                    if (!backend.isAvailable()) {
                        throw new IllegalStateException(BACKEND_PROPERTY + "=" + requested
                                + " names a backend that is not available here: " + backend.description());
                    }
                    return backend;
                }
            }
            throw new IllegalArgumentException(BACKEND_PROPERTY + "=" + requested + " names no known backend; known: "
                    + candidates.stream().map(ComputeBackend::name).toList());
        }
        return candidates.stream().filter(ComputeBackend::isAvailable).findFirst()
                .orElseThrow(() -> new IllegalStateException("no compute backend is available"));
    }
}
