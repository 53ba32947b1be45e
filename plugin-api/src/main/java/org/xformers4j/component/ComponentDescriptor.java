package org.xformers4j.component;

import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.positional.PositionalCapabilities;

/**
 * Everything a host shows about a component without creating it, derived from the class: its
 * {@link ComponentInfo}, its {@code @Config} fields and its capability annotation
 * ({@link AttentionCapabilities}, {@link PositionalCapabilities} or {@link DecodingCapabilities}).
 *
 * @param name            short stable name
 * @param kind            attention, positional or decoding
 * @param summary         one line
 * @param reference       the paper
 * @param implementation  fully qualified class name
 * @param hyperparameters in declaration order
 * @param capabilities    the capability annotation of the kind
 */
public record ComponentDescriptor(String name, ComponentKind kind, String summary, String reference,
                                  String implementation, List<Hyperparameter> hyperparameters,
                                  Annotation capabilities) {

    public ComponentDescriptor {
        hyperparameters = List.copyOf(hyperparameters);
    }

    /** Derives the descriptor of a component class; fails naming the class if an annotation is missing. */
    public static ComponentDescriptor of(Class<? extends Component> type) {
        ComponentInfo info = type.getAnnotation(ComponentInfo.class);
        if (info == null) {
            throw new IllegalArgumentException(type.getName() + " has no @ComponentInfo");
        }
        if (!info.name().matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException(type.getName() + ": component name '" + info.name()
                    + "' must be lower case letters, digits and '-'");
        }
        ComponentKind kind = ComponentKind.of(type);
        Class<? extends Annotation> capabilityType = capabilityType(kind);
        Annotation capabilities = type.getAnnotation(capabilityType);
        if (capabilities == null) {
            throw new IllegalArgumentException(type.getName() + " is a " + kind.label() + " component but has no @"
                    + capabilityType.getSimpleName());
        }
        return new ComponentDescriptor(info.name(), kind, info.summary(), info.reference(), type.getName(),
                Hyperparameters.describe(type), capabilities);
    }

    /** The capability annotation type each kind declares. */
    public static Class<? extends Annotation> capabilityType(ComponentKind kind) {
        return switch (kind) {
            case ATTENTION -> AttentionCapabilities.class;
            case POSITIONAL -> PositionalCapabilities.class;
            case DECODING -> DecodingCapabilities.class;
        };
    }

    /** The capabilities as the typed annotation, e.g. {@code capabilities(AttentionCapabilities.class).causal()}. */
    public <A extends Annotation> A capabilities(Class<A> type) {
        if (!type.isInstance(capabilities)) {
            throw new IllegalArgumentException(name + " is a " + kind.label() + " component; it has no "
                    + type.getSimpleName());
        }
        return type.cast(capabilities);
    }

    /** The capabilities as name → value (booleans, strings, enum names, lists of strings), in a stable order. */
    public Map<String, Object> capabilityMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        Method[] methods = capabilities.annotationType().getDeclaredMethods();
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        for (Method m : methods) {
            try {
                Object value = m.invoke(capabilities);
                out.put(m.getName(), value instanceof Enum<?> e ? e.name()
                        : value instanceof String[] strings ? List.of(strings) : value);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read capability " + m.getName() + " of " + name, e);
            }
        }
        return out;
    }

    /** The hyperparameter called {@code parameter}, if there is one. */
    public Optional<Hyperparameter> hyperparameter(String parameter) {
        return hyperparameters.stream().filter(h -> h.name().equals(parameter)).findFirst();
    }
}
