package org.xformers4j.registry.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.logging.Logger;
import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.RegistryListener;

/**
 * The registry's state and lookups, shared by the standalone registry (filled once from
 * {@link java.util.ServiceLoader}) and the OSGi one ({@link OsgiComponentRegistry}, filled and
 * emptied by Declarative Services as bundles come and go).
 *
 * <p>Each name maps to the providers claiming it in arrival order; the first is the one in use.
 * Changes happen under one lock; listener events are queued under that lock and delivered after it
 * is released, one at a time and in the order of the changes, so a listener may call back into the
 * registry.
 */
public class DefaultComponentRegistry implements ComponentRegistry {

    private static final Logger LOGGER = Logger.getLogger(DefaultComponentRegistry.class.getName());

    private static final Comparator<ComponentProvider<?>> BY_KIND_THEN_NAME = Comparator
            .comparing((ComponentProvider<?> p) -> p.descriptor().kind())
            .thenComparing(p -> p.descriptor().name());

    private final Object lock = new Object();
    private final Map<String, List<ComponentProvider<?>>> claims = new HashMap<>();
    private final List<ComputeBackend> backends = new ArrayList<>();

    private final List<RegistryListener> listeners = new CopyOnWriteArrayList<>();
    private final Queue<Runnable> events = new ConcurrentLinkedQueue<>();
    private final Object delivery = new Object();

    /**
     * Makes {@code provider}'s component available, unless another provider already has its name:
     * then it waits behind that one, with a warning.
     */
    public void addProvider(ComponentProvider<?> provider) {
        ComponentDescriptor descriptor = provider.descriptor();
        synchronized (lock) {
            List<ComponentProvider<?>> claimants = claims.computeIfAbsent(descriptor.name(), n -> new ArrayList<>());
            claimants.add(provider);
            if (claimants.size() == 1) {
                queue(RegistryListener::providerAdded, descriptor);
            } else {
                LOGGER.warning(() -> "component name '" + descriptor.name() + "' is provided by both "
                        + claimants.get(0).type().getName() + " and " + provider.type().getName() + "; using "
                        + claimants.get(0).type().getName());
            }
        }
        deliver();
    }

    /**
     * Withdraws {@code provider}; if its component was in use, the next provider waiting for the
     * name (if any) takes over. Unknown providers are ignored.
     */
    public void removeProvider(ComponentProvider<?> provider) {
        String name = provider.descriptor().name();
        synchronized (lock) {
            List<ComponentProvider<?>> claimants = claims.getOrDefault(name, List.of());
            int index = indexOf(claimants, provider);
            if (index < 0) {
                return;
            }
            claimants.remove(index);
            if (index == 0) {
                queue(RegistryListener::providerRemoved, provider.descriptor());
                if (!claimants.isEmpty()) {
                    queue(RegistryListener::providerAdded, claimants.get(0).descriptor());
                }
            }
            if (claimants.isEmpty()) {
                claims.remove(name);
            }
        }
        deliver();
    }

    /** Adds a compute backend. */
    public void addBackend(ComputeBackend backend) {
        synchronized (lock) {
            backends.add(backend);
        }
    }

    /** Removes a compute backend; unknown ones are ignored. */
    public void removeBackend(ComputeBackend backend) {
        synchronized (lock) {
            int index = indexOf(backends, backend);
            if (index >= 0) {
                backends.remove(index);
            }
        }
    }

    @Override
    public List<ComponentProvider<?>> providers() {
        synchronized (lock) {
            return claims.values().stream().<ComponentProvider<?>>map(c -> c.get(0)).sorted(BY_KIND_THEN_NAME).toList();
        }
    }

    @Override
    public List<ComponentProvider<?>> providers(ComponentKind kind) {
        return providers().stream().filter(p -> p.descriptor().kind() == kind).toList();
    }

    @Override
    public ComponentProvider<?> find(String name) {
        synchronized (lock) {
            List<ComponentProvider<?>> claimants = claims.get(name);
            if (claimants == null) {
                throw new IllegalArgumentException(Suggestions.unknownName("component", name, claims.keySet()));
            }
            return claimants.get(0);
        }
    }

    @Override
    public <T extends Component> T create(Class<T> type, String name, Map<String, String> options) {
        ComponentProvider<?> provider;
        synchronized (lock) {
            List<ComponentProvider<?>> claimants = claims.get(name);
            if (claimants == null) {
                // Only names of the asked type are suggested: a misspelt decoding strategy is not offered attention.
                throw new IllegalArgumentException(Suggestions.unknownName("component", name, claims.entrySet().stream()
                        .filter(c -> type.isAssignableFrom(c.getValue().get(0).type())).map(Map.Entry::getKey).toList()));
            }
            provider = claimants.get(0);
        }
        if (!type.isAssignableFrom(provider.type())) {
            throw new IllegalArgumentException("component '" + name + "' is a " + provider.descriptor().kind().label()
                    + " component (" + provider.type().getName() + "), not a " + type.getSimpleName());
        }
        return type.cast(provider.create(options));
    }

    @Override
    public List<ComputeBackend> backends() {
        synchronized (lock) {
            return backends.stream().sorted(Comparator.comparingInt(ComputeBackend::priority).reversed()).toList();
        }
    }

    @Override
    public void addListener(RegistryListener listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(RegistryListener listener) {
        listeners.remove(listener);
    }

    /** Queues an event for every listener; called under {@link #lock} so events keep the order of changes. */
    private void queue(BiConsumer<RegistryListener, ComponentDescriptor> event, ComponentDescriptor descriptor) {
        events.add(() -> listeners.forEach(l -> event.accept(l, descriptor)));
    }

    /** Delivers queued events in order, one at a time, outside {@link #lock}. */
    private void deliver() {
        synchronized (delivery) {
            for (Runnable event = events.poll(); event != null; event = events.poll()) {
                event.run();
            }
        }
    }

    /** The position of {@code item} in {@code list} by identity (services are distinct objects), or -1. */
    private static int indexOf(List<?> list, Object item) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == item) {
                return i;
            }
        }
        return -1;
    }
}
