package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link SinusoidalPositionalEncoding} as the positional component {@code sinusoidal}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class SinusoidalPositionalEncodingProvider extends ConfigurableComponentProvider<SinusoidalPositionalEncoding> {

    public SinusoidalPositionalEncodingProvider() {
        super(SinusoidalPositionalEncoding.class);
    }
}
