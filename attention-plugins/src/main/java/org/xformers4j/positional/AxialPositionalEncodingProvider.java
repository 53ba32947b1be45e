package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link AxialPositionalEncoding} as the positional component {@code axial}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class AxialPositionalEncodingProvider extends ConfigurableComponentProvider<AxialPositionalEncoding> {

    public AxialPositionalEncodingProvider() {
        super(AxialPositionalEncoding.class);
    }
}
