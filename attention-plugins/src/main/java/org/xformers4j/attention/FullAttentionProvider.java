package org.xformers4j.attention;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link FullAttention} as the attention component {@code full}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class FullAttentionProvider extends ConfigurableComponentProvider<FullAttention> {

    public FullAttentionProvider() {
        super(FullAttention.class);
    }
}
