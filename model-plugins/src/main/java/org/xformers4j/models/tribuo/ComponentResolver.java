package org.xformers4j.models.tribuo;

import org.xformers4j.component.Component;
import org.xformers4j.registry.ComponentRegistry;

import java.util.Map;

/**
 * Where {@link TransformerTrainer} finds the components it names (attention mechanisms,
 * positional encodings): the one place a trainer looks components up, so the lookup can be
 * swapped without touching the trainer.
 *
 * <p>On a plain class path it uses {@link ComponentRegistry#standalone()}, which finds the
 * providers with {@link java.util.ServiceLoader}, created on first use. Inside an OSGi framework
 * the providers are services the class path cannot see: the host hands its service registry to
 * {@link #use(ComponentRegistry)} (for example from the activation of a Declarative Services
 * component that references {@code ComponentRegistry}) before any trainer is configured.
 */
public final class ComponentResolver {

    private static volatile ComponentRegistry registry;

    private ComponentResolver() {
    }

    /** Makes every later lookup go through {@code value}, the registry of the host. */
    public static void use(ComponentRegistry value) {
        if (value == null) {
            throw new IllegalArgumentException("ComponentResolver.use: registry must not be null");
        }
        registry = value;
    }

    /**
     * A new instance of the component called {@code name}.
     *
     * @throws IllegalArgumentException for an unknown name (naming the closest registered ones) or a
     *                                  component that is not a {@code type}
     */
    public static <T extends Component> T create(Class<T> type, String name, Map<String, String> options) {
        return registry().create(type, name, options);
    }

    private static ComponentRegistry registry() {
        ComponentRegistry current = registry;
        if (current == null) {
            synchronized (ComponentResolver.class) {
                if (registry == null) {
                    registry = ComponentRegistry.standalone();
                }
                current = registry;
            }
        }
        return current;
    }
}
