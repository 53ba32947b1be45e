package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link PerformerAttention} as the attention component {@code performer}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class PerformerAttentionProvider extends ConfigurableComponentProvider<PerformerAttention> {

    public PerformerAttentionProvider() {
        super(PerformerAttention.class);
    }
}
