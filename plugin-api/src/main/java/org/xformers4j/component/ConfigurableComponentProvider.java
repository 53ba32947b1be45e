package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.ConfigurationData;
import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.config.property.Property;
import com.oracle.labs.mlrg.olcut.config.property.SimpleProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A provider that derives everything from the component class and lets OLCUT create and
 * configure instances, so a concrete provider is one line:
 * <pre>{@code
 * @org.osgi.service.component.annotations.Component(service = ComponentProvider.class)
 * public final class FullAttentionProvider extends ConfigurableComponentProvider<FullAttention> {
 *     public FullAttentionProvider() { super(FullAttention.class); }
 * }
 * }</pre>
 *
 * @param <T> the component class
 */
public abstract class ConfigurableComponentProvider<T extends Component> implements ComponentProvider<T> {

    private final Class<T> type;
    private final ComponentDescriptor descriptor;

    protected ConfigurableComponentProvider(Class<T> type) {
        this.type = type;
        this.descriptor = ComponentDescriptor.of(type);
    }

    @Override
    public final ComponentDescriptor descriptor() {
        return descriptor;
    }

    @Override
    public final Class<T> type() {
        return type;
    }

    @Override
    public final T create(Map<String, String> options) {
        List<String> valid = descriptor.hyperparameters().stream().map(Hyperparameter::name).toList();
        Map<String, Property> properties = new LinkedHashMap<>();
        for (Map.Entry<String, String> option : options.entrySet()) {
            Hyperparameter h = descriptor.hyperparameter(option.getKey()).orElseThrow(() ->
                    new PropertyException(descriptor.name(), option.getKey(), "unknown option '" + option.getKey()
                            + "' for " + descriptor.name() + "; valid options: "
                            + (valid.isEmpty() ? "none" : String.join(", ", valid))));
            // OLCUT reads any text but "true" as false: insist on a real boolean
            if (h.type().equals("boolean") && !option.getValue().matches("(?i)true|false")) {
                throw new PropertyException(descriptor.name(), h.name(), descriptor.name() + "." + h.name() + " = "
                        + option.getValue() + " is not a boolean (true or false)");
            }
            properties.put(option.getKey(), new SimpleProperty(h.choices().isEmpty() ? option.getValue()
                    : choice(h, option.getValue())));
        }
        ConfigurationManager configuration = new ConfigurationManager();
        configuration.addConfiguration(new ConfigurationData(descriptor.name(), type.getName(), properties));
        return create(configuration, descriptor.name());
    }

    /**
     * The enum constant of {@code h} that {@code value} names, ignoring case and reading '-' as '_'
     * (so {@code no-params} and {@code NO_PARAMS} are the same choice, as papers and the Python
     * libraries spell them in lower case).
     */
    private String choice(Hyperparameter h, String value) {
        String wanted = value.trim().replace('-', '_');
        return h.choices().stream().filter(c -> c.equalsIgnoreCase(wanted)).findFirst().orElseThrow(() ->
                new PropertyException(descriptor.name(), h.name(), descriptor.name() + "." + h.name() + " = " + value
                        + " is not one of " + String.join(" | ", h.choices()) + " (case is ignored)"));
    }

    @Override
    public final T create(ConfigurationManager configuration, String instanceName) {
        Configurable instance = configuration.lookup(instanceName);
        if (instance == null) {
            throw new PropertyException(instanceName, "", "no component called '" + instanceName
                    + "' in the configuration");
        }
        if (!type.isInstance(instance)) {
            throw new PropertyException(instanceName, "", "'" + instanceName + "' is a "
                    + instance.getClass().getName() + ", not a " + type.getName() + " (" + descriptor.name() + ")");
        }
        return type.cast(instance);
    }

    @Override
    public String toString() {
        return descriptor.kind().label() + " " + descriptor.name() + " (" + type.getName() + ")";
    }
}
