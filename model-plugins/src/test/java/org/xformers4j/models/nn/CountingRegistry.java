package org.xformers4j.models.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryListener;

/**
 * A {@link ComponentRegistry} that delegates to another and records the names of the components
 * created through it, in order, so a test sees which registry a trainer or loader used.
 */
public final class CountingRegistry implements ComponentRegistry {

    private final ComponentRegistry delegate;
    private final List<String> created = new ArrayList<>();

    public CountingRegistry(ComponentRegistry delegate) {
        this.delegate = delegate;
    }

    /** The names of the components created so far, in order. */
    public synchronized List<String> created() {
        return List.copyOf(created);
    }

    @Override
    public List<ComponentProvider<?>> providers() {
        return delegate.providers();
    }

    @Override
    public List<ComponentProvider<?>> providers(ComponentKind kind) {
        return delegate.providers(kind);
    }

    @Override
    public ComponentProvider<?> find(String name) {
        return delegate.find(name);
    }

    @Override
    public synchronized <T extends Component> T create(Class<T> type, String name, Map<String, String> options) {
        T component = delegate.create(type, name, options);
        created.add(name);
        return component;
    }

    @Override
    public List<ComputeBackend> backends() {
        return delegate.backends();
    }

    @Override
    public void addListener(RegistryListener listener) {
        delegate.addListener(listener);
    }

    @Override
    public void removeListener(RegistryListener listener) {
        delegate.removeListener(listener);
    }
}
