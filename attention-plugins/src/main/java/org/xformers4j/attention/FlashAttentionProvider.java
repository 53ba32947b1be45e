package org.xformers4j.attention;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link FlashAttention} as the attention component {@code flash}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class FlashAttentionProvider extends ConfigurableComponentProvider<FlashAttention> {

    public FlashAttentionProvider() {
        super(FlashAttention.class);
    }
}
