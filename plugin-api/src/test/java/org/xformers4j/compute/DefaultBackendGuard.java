package org.xformers4j.compute;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;

/**
 * For tests that prove code never touches the default backend: while open, the process-wide
 * default is a backend that records and refuses every call (Object's methods aside), so a tensor
 * created without a backend, or a kernel run on the default, fails at once and is listed by
 * {@link #assertUntouched()}. Closing restores the previous default. Open it outside any
 * {@link Backends#use} scope, in a test that runs alone in its JVM thread (surefire runs test
 * classes one at a time).
 * <pre>{@code
 * try (DefaultBackendGuard guard = DefaultBackendGuard.install()) {
 *     ... train and decode on another backend ...
 *     guard.assertUntouched();
 * }
 * }</pre>
 */
public final class DefaultBackendGuard implements AutoCloseable {

    private final ComputeBackend previous;
    private final List<Throwable> uses = new ArrayList<>();

    private DefaultBackendGuard() {
        previous = Backends.defaultBackend();
        ComputeBackend strict = (ComputeBackend) Proxy.newProxyInstance(ComputeBackend.class.getClassLoader(),
                new Class<?>[] {ComputeBackend.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "the guarded default backend";
                    default -> {
                        IllegalStateException use = new IllegalStateException("the default backend was used: "
                                + method.getName());
                        synchronized (uses) {
                            uses.add(use);
                        }
                        throw use;
                    }
                });
        Backends.setDefaultBackend(strict);
    }

    /** Makes a backend that refuses every call the process-wide default until {@link #close()}. */
    public static DefaultBackendGuard install() {
        return new DefaultBackendGuard();
    }

    /** The calls made to the default backend since {@link #install()}, each with the stack that made it. */
    public List<Throwable> uses() {
        synchronized (uses) {
            return List.copyOf(uses);
        }
    }

    /** Fails, with the first offending stack as the cause, if anything called the default backend. */
    public void assertUntouched() {
        List<Throwable> seen = uses();
        if (!seen.isEmpty()) {
            throw new AssertionError(seen.size() + " call(s) to the default backend, the first here", seen.get(0));
        }
    }

    /** Restores the default backend that was in place before {@link #install()}. */
    @Override
    public void close() {
        Backends.setDefaultBackend(previous);
    }
}
