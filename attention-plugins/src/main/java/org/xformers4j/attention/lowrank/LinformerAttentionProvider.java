package org.xformers4j.attention.lowrank;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link LinformerAttention} as the attention component {@code linformer}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class LinformerAttentionProvider extends ConfigurableComponentProvider<LinformerAttention> {

    public LinformerAttentionProvider() {
        super(LinformerAttention.class);
    }
}
