package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.util.Map;

/**
 * The service that publishes one component: its descriptor and the creation of configured
 * instances. Providers are OSGi Declarative Services components and are also listed in
 * {@code META-INF/services} for {@link java.util.ServiceLoader} on a plain class path.
 *
 * @param <T> the component class
 */
public interface ComponentProvider<T extends Component> {

    /** What the component is, derived from its class. */
    ComponentDescriptor descriptor();

    /** The component class. */
    Class<T> type();

    /**
     * A new instance configured from string options (hyperparameter name → value, as on a command
     * line); unset hyperparameters keep their defaults. Throws
     * {@link com.oracle.labs.mlrg.olcut.config.PropertyException} for an unknown name (listing the
     * valid ones), a value that does not parse, or one that fails validation.
     */
    T create(Map<String, String> options);

    /** The instance called {@code instanceName} in an OLCUT configuration (e.g. loaded from XML). */
    T create(ConfigurationManager configuration, String instanceName);
}
