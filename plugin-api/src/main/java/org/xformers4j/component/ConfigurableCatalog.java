package org.xformers4j.component;

import java.util.List;

/**
 * The configurable classes a bundle documents for {@code xformers4j describe} besides its registry
 * components: those a configuration file names by class (trainers, input encoders, output heads,
 * architecture and training settings). A bundle publishes one as an OSGi service (outside a
 * framework, hand it to whatever describes them), so the registry's {@code describe} command shows
 * classes it cannot see itself.
 */
public interface ConfigurableCatalog {

    /** The descriptors of the bundle's configurable classes. */
    List<ConfigurableDescriptor> configurables();
}
