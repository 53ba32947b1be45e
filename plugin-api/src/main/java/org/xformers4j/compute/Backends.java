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
 */
public final class Backends {

    /** System property that overrides automatic backend selection. */
    public static final String BACKEND_PROPERTY = "xformers4j.backend";

    private static volatile ComputeBackend defaultBackend;

    private Backends() {
    }

    /** Every backend on the class path, available or not, highest priority first. */
    public static List<ComputeBackend> discover() {
        List<ComputeBackend> found = new ArrayList<>();
        ServiceLoader.load(ComputeBackend.class, Backends.class.getClassLoader()).forEach(found::add);
        found.sort(Comparator.comparingInt(ComputeBackend::priority).reversed());
        return found;
    }

    /** The backend new tensors use unless told otherwise. */
    public static ComputeBackend defaultBackend() {
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

    /** Makes {@code backend} the default for tensors created from now on. */
    public static void setDefaultBackend(ComputeBackend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        defaultBackend = backend;
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
