package org.xformers4j.compute.cpu;

import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Whether this backend can use the incubating Java Vector API ({@code jdk.incubator.vector}), and the
 * loading of the SIMD kernels that need it.
 *
 * <p>The answer is computed once, when this class initialises (the first CPU backend or kernel of a
 * JVM, or of a bundle class loader inside an OSGi framework). Without the Vector API every kernel
 * runs its scalar form, matrix products about 10 times slower, so that decision logs one warning
 * (logger {@code org.xformers4j.compute.cpu.VectorApi}) naming the fix: start the JVM with
 * {@code --add-modules jdk.incubator.vector}, or, inside an OSGi framework that lists its system
 * packages itself, export the package with {@code org.osgi.framework.system.packages.extra}.
 */
final class VectorApi {

    private static final Logger LOG = Logger.getLogger(VectorApi.class.getName());

    static final String MODULE = "jdk.incubator.vector";

    /** Whether the SIMD kernels can be loaded here; a missing Vector API was reported when this was set. */
    static final boolean USABLE = detectAndReport();

    private VectorApi() {
    }

    private static boolean detectAndReport() {
        Optional<String> problem = unavailability(ModuleLayer.boot(), VectorApi.class.getClassLoader());
        if (problem.isPresent()) {
            LOG.warning(problem.get());
            return false;
        }
        return true;
    }

    /**
     * Why classes of {@code loader} cannot use the Vector API in a JVM whose boot layer is {@code boot}
     * (the message names the fix), or empty when they can.
     */
    static Optional<String> unavailability(ModuleLayer boot, ClassLoader loader) {
        if (boot.findModule(MODULE).isEmpty()) {
            return Optional.of("The Java Vector API is missing: this JVM was started without the module " + MODULE
                    + ", so the xformers4j CPU backend runs its scalar kernels (matrix products about 10x slower)."
                    + " Start the JVM with --add-modules " + MODULE + ".");
        }
        try {
            Class.forName(MODULE + ".FloatVector", false, loader);
            return Optional.empty();
        } catch (ClassNotFoundException | LinkageError e) {
            return Optional.of("The Java Vector API is not visible to the xformers4j CPU backend: the JVM has the module "
                    + MODULE + " but the OSGi framework does not export the package " + MODULE + " to bundle"
                    + " org.xformers4j.plugin.api, so it runs its scalar kernels (matrix products about 10x slower)."
                    + " Set the framework property org.osgi.framework.system.packages.extra=" + MODULE + ".");
        }
    }

    /**
     * The {@code INSTANCE} of the SIMD kernel class {@code className} (loaded reflectively, so that
     * nothing links against the Vector API without it), or empty when the Vector API is not usable
     * or the class fails to load (logged).
     */
    static <T> Optional<T> kernel(String className, Class<T> type) {
        if (!USABLE) {
            return Optional.empty();
        }
        try {
            return Optional.of(type.cast(Class.forName(className).getField("INSTANCE").get(null)));
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.log(Level.WARNING, "the Vector API is usable but " + className + " failed to load; using the scalar kernel", e);
            return Optional.empty();
        }
    }
}
