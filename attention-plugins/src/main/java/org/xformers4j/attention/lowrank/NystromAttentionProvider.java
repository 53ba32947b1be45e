package org.xformers4j.attention.lowrank;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link NystromAttention} as the attention component {@code nystrom}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class NystromAttentionProvider extends ConfigurableComponentProvider<NystromAttention> {

    public NystromAttentionProvider() {
        super(NystromAttention.class);
    }
}
