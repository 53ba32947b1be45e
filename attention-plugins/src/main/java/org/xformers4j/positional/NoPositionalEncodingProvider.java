package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link NoPositionalEncoding} as the positional component {@code none}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class NoPositionalEncodingProvider extends ConfigurableComponentProvider<NoPositionalEncoding> {

    public NoPositionalEncodingProvider() {
        super(NoPositionalEncoding.class);
    }
}
