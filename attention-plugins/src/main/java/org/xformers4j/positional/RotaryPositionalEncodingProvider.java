package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link RotaryPositionalEncoding} as the positional component {@code rotary}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class RotaryPositionalEncodingProvider extends ConfigurableComponentProvider<RotaryPositionalEncoding> {

    public RotaryPositionalEncodingProvider() {
        super(RotaryPositionalEncoding.class);
    }
}
