package org.xformers4j.attention;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link LshAttention} as the attention component {@code lsh}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class LshAttentionProvider extends ConfigurableComponentProvider<LshAttention> {

    public LshAttentionProvider() {
        super(LshAttention.class);
    }
}
