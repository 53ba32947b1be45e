package org.xformers4j.models.nn;

import org.xformers4j.registry.ComponentRegistry;

/**
 * Where a trainer creates its architecture's components: the registry handed to it (by a host that
 * configured it, or by a builder), else the class path's {@link ComponentRegistry#standalone()},
 * created on first use. One per trainer; never a process-wide locator.
 */
public final class ComponentSource {

    private volatile ComponentRegistry registry;

    /**
     * Creates components through {@code registry} from now on, after checking that it knows those
     * of {@code architecture} and takes their options.
     *
     * @throws IllegalArgumentException for a null registry, an unknown component or a bad option
     */
    public void use(ComponentRegistry registry, Architecture architecture) {
        if (registry == null) {
            throw new IllegalArgumentException("the component registry must not be null");
        }
        architecture.checkComponents(registry);
        this.registry = registry;
    }

    /** The registry handed to {@link #use}, or the class path's when none was. */
    public ComponentRegistry registry() {
        ComponentRegistry current = registry;
        if (current == null) {
            synchronized (this) {
                if (registry == null) {
                    registry = ComponentRegistry.standalone();
                }
                current = registry;
            }
        }
        return current;
    }
}
