package org.xformers4j.registry;

/**
 * Something configured by name (an OLCUT component such as a trainer) that creates registered
 * components (attention mechanisms, positional encodings) and so needs a {@link ComponentRegistry}:
 * whoever configures it hands it the registry to use, once, before using it. A host command does
 * so right after OLCUT has built the object from a configuration file, with the host's registry;
 * code builds it with the registry as an argument. There is no global registry to fall back on:
 * an object that was never handed one documents what it uses instead (usually
 * {@link ComponentRegistry#standalone()}, which sees the class path only).
 */
public interface RegistryAware {

    /**
     * Makes this object create its components through {@code registry} from now on, and checks the
     * component names and options it was configured with against it, so that a misspelt name fails
     * here, before any work, naming the configuration field and the closest registered names.
     *
     * @throws IllegalArgumentException            if {@code registry} is null
     * @throws com.oracle.labs.mlrg.olcut.config.PropertyException naming the field whose component is
     *                                             unknown to {@code registry} or whose options it refuses
     */
    void useRegistry(ComponentRegistry registry);
}
