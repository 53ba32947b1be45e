package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link LinearAttention} as the attention component {@code linear}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class LinearAttentionProvider extends ConfigurableComponentProvider<LinearAttention> {

    public LinearAttentionProvider() {
        super(LinearAttention.class);
    }
}
