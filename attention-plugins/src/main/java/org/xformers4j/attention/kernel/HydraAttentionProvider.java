package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link HydraAttention} as the attention component {@code hydra}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class HydraAttentionProvider extends ConfigurableComponentProvider<HydraAttention> {

    public HydraAttentionProvider() {
        super(HydraAttention.class);
    }
}
