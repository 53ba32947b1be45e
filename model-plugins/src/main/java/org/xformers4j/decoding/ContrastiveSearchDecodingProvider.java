package org.xformers4j.decoding;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link ContrastiveSearchDecoding} as an OSGi service and through {@link java.util.ServiceLoader}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class ContrastiveSearchDecodingProvider extends ConfigurableComponentProvider<ContrastiveSearchDecoding> {

    public ContrastiveSearchDecodingProvider() {
        super(ContrastiveSearchDecoding.class);
    }
}
