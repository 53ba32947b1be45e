package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link ReluLinearAttention} as the attention component {@code relu-linear}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class ReluLinearAttentionProvider extends ConfigurableComponentProvider<ReluLinearAttention> {

    public ReluLinearAttentionProvider() {
        super(ReluLinearAttention.class);
    }
}
