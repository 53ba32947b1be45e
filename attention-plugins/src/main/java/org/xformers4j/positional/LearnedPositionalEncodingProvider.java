package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link LearnedPositionalEncoding} as the positional component {@code learned}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class LearnedPositionalEncodingProvider extends ConfigurableComponentProvider<LearnedPositionalEncoding> {

    public LearnedPositionalEncodingProvider() {
        super(LearnedPositionalEncoding.class);
    }
}
