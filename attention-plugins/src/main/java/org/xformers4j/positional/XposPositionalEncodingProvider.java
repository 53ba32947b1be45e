package org.xformers4j.positional;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link XposPositionalEncoding} as the positional component {@code xpos}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class XposPositionalEncodingProvider extends ConfigurableComponentProvider<XposPositionalEncoding> {

    public XposPositionalEncodingProvider() {
        super(XposPositionalEncoding.class);
    }
}
