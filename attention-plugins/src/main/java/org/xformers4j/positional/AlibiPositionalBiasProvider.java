package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link AlibiPositionalBias} as the positional component {@code alibi}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class AlibiPositionalBiasProvider extends ConfigurableComponentProvider<AlibiPositionalBias> {

    public AlibiPositionalBiasProvider() {
        super(AlibiPositionalBias.class);
    }
}
