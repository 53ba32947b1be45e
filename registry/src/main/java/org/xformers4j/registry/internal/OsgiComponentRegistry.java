package org.xformers4j.registry.internal;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.registry.ComponentRegistry;

/**
 * The registry inside an OSGi framework: Declarative Services binds every
 * {@link ComponentProvider} and {@link ComputeBackend} service as it is registered and unbinds it
 * when its bundle stops, on framework threads; listeners hear of each provider change.
 */
@Component(service = ComponentRegistry.class)
public final class OsgiComponentRegistry extends DefaultComponentRegistry {

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindProvider(ComponentProvider<?> provider) {
        addProvider(provider);
    }

    void unbindProvider(ComponentProvider<?> provider) {
        removeProvider(provider);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ComputeBackend backend) {
        addBackend(backend);
    }

    void unbindBackend(ComputeBackend backend) {
        removeBackend(backend);
    }
}
