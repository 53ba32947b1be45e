package org.xformers4j.registry;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.internal.DefaultComponentRegistry;

/**
 * The components and compute backends the running system offers. Inside an OSGi framework it is a
 * service that follows provider bundles as they start and stop; outside one,
 * {@link #standalone()} finds the providers on the class path. Both give the same names for the
 * same set of bundles or jars.
 *
 * <p>A name is provided once: when two providers claim the same name, the first one seen wins,
 * the other waits behind it (and takes over if the first goes away), and a warning is logged.
 * Implementations are thread-safe.
 */
public interface ComponentRegistry {

    /** Every provider, ordered by kind (attention, positional, decoding) then name. */
    List<ComponentProvider<?>> providers();

    /** The providers of one kind, ordered by name. */
    List<ComponentProvider<?>> providers(ComponentKind kind);

    /**
     * The provider of the component called {@code name}.
     *
     * @throws IllegalArgumentException naming {@code name} and the closest registered names
     */
    ComponentProvider<?> find(String name);

    /**
     * A new instance of the component called {@code name}, configured from string options by its
     * provider (see {@link ComponentProvider#create(Map)}).
     *
     * @param type the interface or class expected, e.g. {@code AttentionMechanism.class}
     * @throws IllegalArgumentException for an unknown name, or a component that is not a {@code type}
     * @throws com.oracle.labs.mlrg.olcut.config.PropertyException for a bad option
     */
    <T extends Component> T create(Class<T> type, String name, Map<String, String> options);

    /** A new instance of the component called {@code name}, of whatever kind; see {@link #create(Class, String, Map)}. */
    default Component create(String name, Map<String, String> options) {
        return create(Component.class, name, options);
    }

    /** The compute backends, available or not, highest priority first. */
    List<ComputeBackend> backends();

    /** Tells {@code listener} about providers added or removed from now on. */
    void addListener(RegistryListener listener);

    /** Stops telling {@code listener}; unknown listeners are ignored. */
    void removeListener(RegistryListener listener);

    /**
     * A registry of the providers {@link ServiceLoader} finds on the class path (through the
     * thread's context class loader) and the backends of {@link Backends#discover()}; it does not
     * change afterwards.
     */
    static ComponentRegistry standalone() {
        DefaultComponentRegistry registry = new DefaultComponentRegistry();
        for (ComponentProvider<?> provider : ServiceLoader.load(ComponentProvider.class)) {
            registry.addProvider(provider);
        }
        Backends.discover().forEach(registry::addBackend);
        return registry;
    }
}
