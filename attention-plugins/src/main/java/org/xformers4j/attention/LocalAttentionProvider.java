package org.xformers4j.attention;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link LocalAttention} as the attention component {@code local}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class LocalAttentionProvider extends ConfigurableComponentProvider<LocalAttention> {

    public LocalAttentionProvider() {
        super(LocalAttention.class);
    }
}
