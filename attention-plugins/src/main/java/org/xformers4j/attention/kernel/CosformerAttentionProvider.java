package org.xformers4j.attention.kernel;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link CosformerAttention} as the attention component {@code cosformer}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class CosformerAttentionProvider extends ConfigurableComponentProvider<CosformerAttention> {

    public CosformerAttentionProvider() {
        super(CosformerAttention.class);
    }
}
