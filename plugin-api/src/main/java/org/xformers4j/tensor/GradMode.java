package org.xformers4j.tensor;

/**
 * Whether operations record the autograd graph on the current thread. Recording is on by default;
 * {@link #noGrad()} turns it off for a scope, as {@code torch.no_grad()} does:
 * <pre>{@code try (GradMode.Scope ignored = GradMode.noGrad()) { ... } }</pre>
 */
public final class GradMode {

    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);

    private GradMode() {
    }

    /** Whether ops on this thread record the graph now. */
    public static boolean isEnabled() {
        return ENABLED.get();
    }

    /** Turns recording off until the returned scope is closed, which restores the previous state. */
    public static Scope noGrad() {
        return set(false);
    }

    /** Turns recording on until the returned scope is closed (inside a {@link #noGrad()} scope). */
    public static Scope enableGrad() {
        return set(true);
    }

    private static Scope set(boolean enabled) {
        boolean previous = ENABLED.get();
        ENABLED.set(enabled);
        return () -> ENABLED.set(previous);
    }

    /** Restores the previous grad mode when closed. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
