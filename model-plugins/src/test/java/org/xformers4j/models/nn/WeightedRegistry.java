package org.xformers4j.models.nn;

import java.util.List;
import java.util.Map;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryListener;

/**
 * The standalone registry plus {@link WeightedFullAttention} under its name, so that commands and
 * trainers in tests can build models whose mechanism reports its weights.
 */
public final class WeightedRegistry implements ComponentRegistry {

    private final ComponentRegistry delegate = ComponentRegistry.standalone();

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
    public <T extends Component> T create(Class<T> type, String name, Map<String, String> options) {
        if (name.equals(WeightedFullAttention.NAME) && options.isEmpty()) {
            return type.cast(new WeightedFullAttention());
        }
        return delegate.create(type, name, options);
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
