package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.util.HashMap;
import java.util.Map;

/**
 * A provider that creates its component with some options set unless the caller sets them: for
 * running a conformance suite, which creates components from options of its own, on a
 * configuration other than the defaults (a component with a skip connection switched on, a
 * shorter maximum length, a fault injected into a fixture).
 *
 * @param <T> the component class
 */
public final class ProviderWithDefaults<T extends Component> implements ComponentProvider<T> {

    private final ComponentProvider<T> provider;
    private final Map<String, String> defaults;

    private ProviderWithDefaults(ComponentProvider<T> provider, Map<String, String> defaults) {
        this.provider = provider;
        this.defaults = Map.copyOf(defaults);
    }

    /** {@code provider} with {@code defaults} in place of its own defaults for those options. */
    public static <T extends Component> ComponentProvider<T> of(ComponentProvider<T> provider,
                                                                Map<String, String> defaults) {
        return new ProviderWithDefaults<>(provider, defaults);
    }

    @Override
    public ComponentDescriptor descriptor() {
        return provider.descriptor();
    }

    @Override
    public Class<T> type() {
        return provider.type();
    }

    @Override
    public T create(Map<String, String> options) {
        Map<String, String> merged = new HashMap<>(defaults);
        merged.putAll(options);
        return provider.create(merged);
    }

    @Override
    public T create(ConfigurationManager configuration, String instanceName) {
        return provider.create(configuration, instanceName);
    }
}
