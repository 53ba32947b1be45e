package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a component's hyperparameters from its {@link Config @Config} fields, so the descriptor and
 * the validation come from one declaration.
 */
public final class Hyperparameters {

    private Hyperparameters() {
    }

    /** The {@code @Config} fields of {@code type} and its superclasses, superclass fields first. */
    static List<Field> configFields(Class<?> type) {
        List<Class<?>> chain = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            chain.add(0, c);
        }
        List<Field> fields = new ArrayList<>();
        for (Class<?> c : chain) {
            for (Field f : c.getDeclaredFields()) {
                if (f.isAnnotationPresent(Config.class) && !Modifier.isStatic(f.getModifiers())) {
                    f.setAccessible(true);
                    fields.add(f);
                }
            }
        }
        return fields;
    }

    /** A component as OLCUT creates it, through its no-argument constructor, before configuration. */
    static <T> T newUnconfigured(Class<T> type) {
        try {
            Constructor<T> constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            return constructor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(type.getName() + " needs a no-argument constructor for OLCUT", e);
        }
    }

    /** The hyperparameters of a component class, with the defaults of a fresh instance. */
    static List<Hyperparameter> describe(Class<?> type) {
        Object fresh = newUnconfigured(type);
        List<Hyperparameter> out = new ArrayList<>();
        for (Field f : configFields(type)) {
            Config config = f.getAnnotation(Config.class);
            Object value = read(f, fresh);
            Class<?> ft = f.getType();
            List<String> choices = ft.isEnum()
                    ? Arrays.stream(ft.getEnumConstants()).map(c -> ((Enum<?>) c).name()).toList()
                    : List.of();
            Range range = f.getAnnotation(Range.class);
            String defaultValue = config.mandatory() || value == null ? null : String.valueOf(value);
            out.add(new Hyperparameter(f.getName(), ft.getSimpleName(), defaultValue,
                    config.description(), config.mandatory(), range == null ? "" : interval(range), choices));
        }
        return out;
    }

    /**
     * Checks every {@link Range}-annotated field of {@code component}; throws
     * {@link PropertyException} naming the component, the field and the value.
     */
    public static void validate(Object component) {
        String name = componentName(component.getClass());
        for (Field f : configFields(component.getClass())) {
            Range range = f.getAnnotation(Range.class);
            if (range == null) {
                continue;
            }
            Object value = read(f, component);
            if (!(value instanceof Number number)) {
                throw new IllegalStateException("@Range on non-numeric field " + f.getName() + " of " + name);
            }
            double v = number.doubleValue();
            boolean aboveMin = range.minInclusive() ? v >= range.min() : v > range.min();
            boolean belowMax = range.maxInclusive() ? v <= range.max() : v < range.max();
            if (Double.isNaN(v) || !aboveMin || !belowMax) {
                throw new PropertyException(name, f.getName(), name + "." + f.getName() + " = " + value
                        + " is outside the valid range " + interval(range));
            }
        }
    }

    /** The {@link ComponentInfo} name of a component class, or its simple name. */
    static String componentName(Class<?> type) {
        ComponentInfo info = type.getAnnotation(ComponentInfo.class);
        return info == null ? type.getSimpleName() : info.name();
    }

    private static Object read(Field f, Object target) {
        try {
            return f.get(target);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read @Config field " + f.getName(), e);
        }
    }

    private static String interval(Range range) {
        boolean closedBelow = range.minInclusive() && !Double.isInfinite(range.min());
        boolean closedAbove = range.maxInclusive() && !Double.isInfinite(range.max());
        return (closedBelow ? "[" : "(") + bound(range.min()) + ", " + bound(range.max()) + (closedAbove ? "]" : ")");
    }

    private static String bound(double b) {
        if (Double.isInfinite(b)) {
            return b > 0 ? "+inf" : "-inf";
        }
        return b == Math.rint(b) ? String.valueOf((long) b) : String.valueOf(b);
    }
}
