package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link DynamicPositionBias} as the positional component {@code dynamic-bias}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class DynamicPositionBiasProvider extends ConfigurableComponentProvider<DynamicPositionBias> {

    public DynamicPositionBiasProvider() {
        super(DynamicPositionBias.class);
    }
}
