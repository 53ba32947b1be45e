package org.xformers4j.decoding;

import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** Publishes {@link SamplingDecoding} as an OSGi service and through {@link java.util.ServiceLoader}. */
@org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
public final class SamplingDecodingProvider extends ConfigurableComponentProvider<SamplingDecoding> {

    public SamplingDecodingProvider() {
        super(SamplingDecoding.class);
    }
}
