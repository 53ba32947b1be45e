package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link T5RelativePositionBias} as the positional component {@code t5-bias}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class T5RelativePositionBiasProvider extends ConfigurableComponentProvider<T5RelativePositionBias> {

    public T5RelativePositionBiasProvider() {
        super(T5RelativePositionBias.class);
    }
}
