package org.xformers4j.attention;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link SlidingWindowAttention} as the attention component {@code sliding-window}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class SlidingWindowAttentionProvider extends ConfigurableComponentProvider<SlidingWindowAttention> {

    public SlidingWindowAttentionProvider() {
        super(SlidingWindowAttention.class);
    }
}
