package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link SimaAttention} as the attention component {@code sima}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class SimaAttentionProvider extends ConfigurableComponentProvider<SimaAttention> {

    public SimaAttentionProvider() {
        super(SimaAttention.class);
    }
}
