package org.xformers4j.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.util.tracker.ServiceTracker;

/**
 * An embedded OSGi framework with every bundle of one directory installed and started: the runtime
 * of the {@code xformers4j} command (Apache Felix) and of the integration tests (Felix and Eclipse
 * Equinox, {@link OsgiFramework}).
 *
 * <p>{@link #start(Path)} launches Felix with its storage in a fresh temporary directory
 * (deleted by {@link #close()}), installs every {@code *.jar} of the directory, resolves them all
 * and starts every bundle that is not a fragment. If a bundle does not resolve, nothing is left
 * running and the exception lists each such bundle with the requirement the resolver could not
 * satisfy. Declarative Services (Felix SCR, one of the installed bundles) then publishes the
 * components; {@link #waitForService(String, Duration)} finds them.
 *
 * <p>The system bundle exports the packages of every module in the JVM's boot layer (Felix 7 and
 * Equinox read them from {@link ModuleLayer#boot()}), so when the JVM runs with
 * {@code --add-modules jdk.incubator.vector} it exports {@code jdk.incubator.vector}: plugin-api's
 * optional import of it is wired and the CPU backend keeps its SIMD kernels inside the framework.
 * Without the flag the import stays unwired and the backend runs its scalar kernels. No
 * {@code org.osgi.framework.system.packages.extra} is needed for it (naming it there would export
 * the package twice).
 *
 * <p>Felix's diagnostics go to {@code java.util.logging} (logger {@code org.xformers4j.host}),
 * never to {@code System.out}: the command services own standard output.
 */
public final class OsgiHost implements AutoCloseable {

    /** System property naming the bundles directory, overriding {@link #defaultBundlesDirectory()}. */
    public static final String BUNDLES_PROPERTY = "xformers4j.bundles";

    private static final Logger LOG = Logger.getLogger("org.xformers4j.host");

    private final Framework framework;
    private final Path storage;
    private final List<Bundle> installed;

    /** {@code installed} is filled by {@link #start(Path)} before the host is handed out. */
    private OsgiHost(Framework framework, Path storage, List<Bundle> installed) {
        this.framework = framework;
        this.storage = storage;
        this.installed = Collections.unmodifiableList(installed);
    }

    /**
     * The bundles directory: the system property {@value #BUNDLES_PROPERTY} if set, otherwise
     * {@code bundles/} beside the jar (or class directory) this class was loaded from, which is
     * where the it/host build puts them ({@code it/host/target/bundles}).
     */
    public static Path defaultBundlesDirectory() {
        String configured = System.getProperty(BUNDLES_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        try {
            Path location = Path.of(OsgiHost.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return location.toAbsolutePath().getParent().resolve("bundles");
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the host jar to find its bundles directory; set -D"
                    + BUNDLES_PROPERTY + "=DIR", e);
        }
    }

    /** The properties of a {@code framework} with its storage in {@code storage}. */
    static Map<String, Object> configuration(OsgiFramework framework, Path storage) {
        Map<String, Object> config = new HashMap<>(framework.ownProperties());
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        // With no log service installed Felix SCR prints its log itself: errors to System.err,
        // every other level to System.out. Errors only keeps standard output for the commands.
        config.put("ds.loglevel", "error");
        return config;
    }

    /**
     * The launch API types the properties as strings, but Felix reads object values too, and
     * {@code felix.log.logger} must be a {@link org.apache.felix.framework.Logger} instance.
     */
    @SuppressWarnings("unchecked")
    private static Map<String, String> asFrameworkProperties(Map<String, Object> config) {
        return (Map<String, String>) (Map<String, ?>) config;
    }

    /**
     * Starts a Felix framework, installs every {@code *.jar} of {@code bundlesDirectory}, resolves them
     * and starts all that are not fragments.
     *
     * @throws IllegalStateException if the directory has no jars, a bundle does not install, resolve
     *     or start; the message names each bundle and why
     */
    public static OsgiHost start(Path bundlesDirectory) {
        return start(bundlesDirectory, OsgiFramework.FELIX);
    }

    /**
     * Starts {@code framework}, installs every {@code *.jar} of {@code bundlesDirectory}, resolves them
     * and starts all that are not fragments.
     *
     * @throws IllegalStateException if the framework is not on the class path, the directory has no
     *     jars, a bundle does not install, resolve or start; the message names each bundle and why
     */
    public static OsgiHost start(Path bundlesDirectory, OsgiFramework framework) {
        List<Path> jars = bundleJars(bundlesDirectory);
        FrameworkFactory factory = framework.factory();
        Path storage;
        try {
            storage = Files.createTempDirectory("xformers4j-felix-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the framework storage directory", e);
        }
        Framework started = factory.newFramework(asFrameworkProperties(configuration(framework, storage)));
        try {
            started.start();
        } catch (BundleException | RuntimeException e) {
            deleteRecursively(storage);
            throw new IllegalStateException("cannot start the OSGi framework " + framework + ": " + e.getMessage(), e);
        }
        List<Bundle> installed = new ArrayList<>();
        OsgiHost host = new OsgiHost(started, storage, installed);
        try {
            for (Path jar : jars) {
                try {
                    installed.add(started.getBundleContext().installBundle("reference:" + jar.toUri()));
                } catch (BundleException e) {
                    throw new IllegalStateException("cannot install " + jar + ": " + e.getMessage(), e);
                }
            }
            host.resolveAll(bundlesDirectory);
            host.startAll();
            return host;
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    private static List<Path> bundleJars(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new IllegalStateException("bundles directory " + directory + " does not exist (build it with"
                    + " 'mvn -pl it/host -am package', or point -D" + BUNDLES_PROPERTY + " at one)");
        }
        try (Stream<Path> files = Files.list(directory)) {
            List<Path> jars = files.filter(p -> p.getFileName().toString().endsWith(".jar"))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .collect(Collectors.toList());
            if (jars.isEmpty()) {
                throw new IllegalStateException("bundles directory " + directory + " has no *.jar");
            }
            return jars;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list bundles directory " + directory, e);
        }
    }

    /** Resolves every installed bundle at once; on failure names each unresolved one and its missing requirement. */
    private void resolveAll(Path bundlesDirectory) {
        if (framework.adapt(FrameworkWiring.class).resolveBundles(installed)) {
            return;
        }
        List<String> problems = new ArrayList<>();
        for (Bundle b : installed) {
            if (b.getState() != Bundle.INSTALLED) {
                continue;
            }
            if (isFragment(b)) {
                problems.add(describe(b) + ": fragment with no resolvable host ("
                        + b.getHeaders().get(Constants.FRAGMENT_HOST) + ")");
                continue;
            }
            try {
                // Starting an unresolved bundle makes the resolver explain itself in the exception.
                b.start();
            } catch (BundleException e) {
                problems.add(describe(b) + ": " + e.getMessage());
            }
        }
        if (problems.isEmpty()) {
            return;
        }
        throw new IllegalStateException(problems.size() + " bundle(s) in " + bundlesDirectory
                + " did not resolve:\n  " + String.join("\n  ", problems));
    }

    private void startAll() {
        List<String> problems = new ArrayList<>();
        for (Bundle b : installed) {
            if (isFragment(b)) {
                continue;
            }
            try {
                b.start();
            } catch (BundleException | RuntimeException e) {
                problems.add(describe(b) + ": " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException(problems.size() + " bundle(s) did not start:\n  "
                    + String.join("\n  ", problems));
        }
    }

    private static boolean isFragment(Bundle b) {
        return b.getHeaders().get(Constants.FRAGMENT_HOST) != null;
    }

    private static String describe(Bundle b) {
        return b.getSymbolicName() + " " + b.getVersion() + " (" + b.getLocation().replaceFirst("^reference:", "") + ")";
    }

    /** The framework's bundle context (the system bundle's). */
    public BundleContext context() {
        return framework.getBundleContext();
    }

    /** The bundles installed from the bundles directory, in file-name order. */
    public List<Bundle> bundles() {
        return installed;
    }

    /** The installed bundle with this symbolic name, if any. */
    public Optional<Bundle> bundle(String symbolicName) {
        return installed.stream().filter(b -> symbolicName.equals(b.getSymbolicName())).findFirst();
    }

    /**
     * Waits until a service matching an LDAP filter is registered and returns it, held for this host's
     * lifetime (so a Declarative Services component stays activated while it is used). The object
     * comes from a bundle's class loader: use it through JDK types or reflection. Like
     * {@link #serviceReferences(String)}, this sees every matching service.
     *
     * @throws TimeoutException if none appears within {@code timeout}
     * @throws IllegalArgumentException if the filter is not valid LDAP syntax
     */
    public Object waitForService(String filter, Duration timeout) throws TimeoutException, InterruptedException {
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context(), parse(filter), null);
        tracker.open(true); // all services: see serviceReferences
        try {
            if (tracker.waitForService(Math.max(1, timeout.toMillis())) == null) {
                throw new TimeoutException("no service matching " + filter + " within " + timeout.toMillis() + " ms");
            }
            ServiceReference<Object> ref = tracker.getServiceReference();
            Object service = context().getService(ref);
            if (service == null) {
                throw new TimeoutException("service " + ref + " matching " + filter + " went away while being obtained");
            }
            return service;
        } finally {
            tracker.close();
        }
    }

    /**
     * Waits for a service registered under {@code type}'s name and returns it as a {@code type}. Only
     * for types that the framework and the caller share (JDK types such as
     * {@link java.util.function.Function}); a class that a bundle also holds is a different class
     * inside the framework, so use {@link #waitForService(String, Duration)} for those.
     */
    public <T> T waitForService(Class<T> type, Duration timeout) throws TimeoutException, InterruptedException {
        Object service = waitForService("(" + Constants.OBJECTCLASS + "=" + type.getName() + ")", timeout);
        if (!type.isInstance(service)) {
            throw new IllegalArgumentException("service " + type.getName() + " inside the framework is loaded by "
                    + service.getClass().getClassLoader() + ", not by the caller's " + type.getClassLoader()
                    + ": use waitForService(filter, timeout) and reach it reflectively");
        }
        return type.cast(service);
    }

    /**
     * The references of the services currently registered that match an LDAP filter (possibly none).
     * All of them, also those whose class the host's class path holds a different copy of (as a test
     * class path does): the framework would hide those from the system bundle otherwise.
     */
    public List<ServiceReference<?>> serviceReferences(String filter) {
        try {
            ServiceReference<?>[] refs = context().getAllServiceReferences(null, filter);
            return refs == null ? List.of() : Arrays.asList(refs);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad service filter '" + filter + "': " + e.getMessage(), e);
        }
    }

    private static Filter parse(String filter) {
        try {
            return FrameworkUtil.createFilter(filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad service filter '" + filter + "': " + e.getMessage(), e);
        }
    }

    /** Stops the framework (every bundle with it) and deletes its storage directory. */
    @Override
    public void close() {
        stop(framework);
        deleteRecursively(storage);
    }

    private static void stop(Framework framework) {
        try {
            framework.stop();
            framework.waitForStop(Duration.ofSeconds(30).toMillis());
        } catch (BundleException e) {
            LOG.log(Level.WARNING, "framework did not stop cleanly", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not delete framework storage " + dir, e);
        }
    }

    /** Routes Felix's own log (errors and warnings about bundles) to {@code java.util.logging}, off stdout. */
    static final class JulLogger extends org.apache.felix.framework.Logger {

        @Override
        @SuppressWarnings("rawtypes") // Felix declares the parameter raw
        protected void doLog(Bundle bundle, ServiceReference ref, int level, String message, Throwable t) {
            Level julLevel = switch (level) {
                case LOG_ERROR -> Level.SEVERE;
                case LOG_WARNING -> Level.WARNING;
                case LOG_INFO -> Level.INFO;
                default -> Level.FINE;
            };
            String source = bundle != null ? "[" + bundle.getSymbolicName() + "] " : "";
            LOG.log(julLevel, source + message, t);
        }
    }
}
