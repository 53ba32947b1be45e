package org.xformers4j.registry;

import org.xformers4j.component.ComponentDescriptor;

/**
 * Told when a component becomes available or goes away, e.g. when the bundle providing it starts
 * or stops. Called on the thread that changed the registry (an OSGi framework thread), never while
 * the registry holds a lock; keep it short.
 */
public interface RegistryListener {

    /** The component described by {@code descriptor} can now be found and created. */
    void providerAdded(ComponentDescriptor descriptor);

    /** The component described by {@code descriptor} is gone. */
    void providerRemoved(ComponentDescriptor descriptor);
}
