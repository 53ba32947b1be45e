package org.xformers4j.component;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.Configurable;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a component's hyperparameters from its {@link Config @Config} fields, so the descriptor,
 * the validation and the text form come from one declaration. Besides components, any OLCUT
 * {@link Configurable} with {@code @Config} fields (a model's architecture, say) can be validated
 * with {@link #validate} and written to and read from flat text entries with {@link #toText} and
 * {@link #fromText}, so that a field added to the class is validated, saved and loaded without
 * another line of code.
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

    /**
     * The default shown for a field whose default is a configurable object (a trainer's built-in
     * architecture or optimisation settings), which its description explains.
     */
    static final String BUILT_IN = "(built-in)";

    /**
     * The hyperparameters of a component class, with the defaults of a fresh instance (a configurable
     * object as {@link #BUILT_IN}).
     */
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
            String defaultValue = config.mandatory() || value == null ? null
                    : value instanceof Configurable ? BUILT_IN : String.valueOf(value);
            out.add(new Hyperparameter(f.getName(), ft.getSimpleName(), defaultValue,
                    config.description(), config.mandatory(), range == null ? "" : interval(range), choices));
        }
        return out;
    }

    /**
     * Checks every {@code @Config} field of {@code component}: none may be null (OLCUT never sets
     * one to null, so only code can), and every {@link Range}-annotated one must lie in its range;
     * throws {@link PropertyException} naming the component, the field and the value.
     */
    public static void validate(Object component) {
        String name = componentName(component.getClass());
        for (Field f : configFields(component.getClass())) {
            Object value = read(f, component);
            if (value == null) {
                throw new PropertyException(name, f.getName(), name + "." + f.getName() + " must be set, got null");
            }
            Range range = f.getAnnotation(Range.class);
            if (range == null) {
                continue;
            }
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

    /**
     * The {@code @Config} fields of {@code configurable} as flat text entries, sorted by key: a
     * number, boolean, string or enum field {@code f} as {@code prefix + f} → its text (an enum by
     * its name; a float or double as {@link Float#toString}/{@link Double#toString} write it, which
     * reads back exactly), a {@code Map<String, String>} field as one entry {@code prefix + f + "." + key}
     * → value per key. {@link #fromText} reads them back.
     *
     * @throws IllegalArgumentException if a field has a type this text form does not hold, or is null
     */
    public static Map<String, String> toText(Object configurable, String prefix) {
        Map<String, String> out = new TreeMap<>();
        for (Field f : configFields(configurable.getClass())) {
            Object value = read(f, configurable);
            if (value == null) {
                throw new IllegalArgumentException(componentName(configurable.getClass()) + "." + f.getName()
                        + " is null and has no text form");
            }
            if (isTextMap(f)) {
                ((Map<?, ?>) value).forEach((k, v) -> out.put(prefix + f.getName() + "." + k, String.valueOf(v)));
            } else {
                requireScalar(configurable.getClass(), f);
                out.put(prefix + f.getName(), value instanceof Enum<?> e ? e.name() : String.valueOf(value));
            }
        }
        return out;
    }

    /**
     * A new {@code type} configured from the entries under {@code prefix} that {@link #toText}
     * wrote, then checked as OLCUT configures it: its {@link Configurable#postConfig()} runs (which
     * for a component or an architecture calls {@link #validate}). Every scalar field must have its
     * entry, no entry under {@code prefix} may name anything else, booleans must be {@code true} or
     * {@code false} and enums one of their names; entries not under {@code prefix} are ignored. The
     * entries are untrusted (a file's metadata): nothing is created from them but the instance.
     *
     * @throws IllegalArgumentException naming the missing, unknown or malformed entry, or the entry whose value
     *                                  {@code postConfig} refused and why
     */
    public static <T> T fromText(Class<T> type, Map<String, String> entries, String prefix) {
        T instance = newUnconfigured(type);
        List<Field> fields = configFields(type);
        Map<String, Field> scalars = new LinkedHashMap<>();
        Map<String, Field> maps = new LinkedHashMap<>();
        for (Field f : fields) {
            if (isTextMap(f)) {
                maps.put(prefix + f.getName() + ".", f);
                write(f, instance, new LinkedHashMap<String, String>());
            } else {
                requireScalar(type, f);
                scalars.put(prefix + f.getName(), f);
            }
        }
        for (Map.Entry<String, String> entry : new TreeMap<>(entries).entrySet()) {
            String key = entry.getKey();
            if (!key.startsWith(prefix)) {
                continue;
            }
            Field scalar = scalars.get(key);
            if (scalar != null) {
                write(scalar, instance, parse(scalar, key, entry.getValue()));
                continue;
            }
            Map.Entry<String, Field> map = maps.entrySet().stream().filter(m -> key.startsWith(m.getKey())
                    && key.length() > m.getKey().length()).findFirst().orElseThrow(() -> new IllegalArgumentException(
                    "unknown entry '" + key + "'; the entries of " + type.getSimpleName() + " are "
                            + String.join(", ", scalars.keySet()) + (maps.isEmpty() ? "" : ", "
                            + String.join(", ", maps.keySet().stream().map(m -> m + "<key>").toList()))));
            @SuppressWarnings("unchecked")
            Map<String, String> values = (Map<String, String>) read(map.getValue(), instance);
            values.put(key.substring(map.getKey().length()), entry.getValue());
        }
        for (Map.Entry<String, Field> scalar : scalars.entrySet()) {
            if (!entries.containsKey(scalar.getKey())) {
                throw new IllegalArgumentException("no '" + scalar.getKey() + "' entry");
            }
        }
        if (instance instanceof Configurable configurable) {
            try {
                configurable.postConfig();
            } catch (PropertyException e) {
                String key = prefix + e.getProperty();
                if (!scalars.containsKey(key) && !maps.containsKey(key + ".")) {
                    throw new IllegalArgumentException(e.getMsg(), e);
                }
                String value = entries.containsKey(key) ? " = '" + entries.get(key) + "'" : "";
                throw new IllegalArgumentException("'" + key + "'" + value + ": " + e.getMsg(), e);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(type.getSimpleName() + ": " + e.getMessage(), e);
            }
        }
        return instance;
    }

    /** Whether {@code f} is a {@code Map<String, String>} field, written as one entry per key. */
    private static boolean isTextMap(Field f) {
        if (!Map.class.isAssignableFrom(f.getType())) {
            return false;
        }
        if (f.getGenericType() instanceof ParameterizedType p) {
            Type[] arguments = p.getActualTypeArguments();
            if (arguments.length == 2 && arguments[0] == String.class && arguments[1] == String.class) {
                return true;
            }
        }
        throw new IllegalArgumentException("@Config field " + f.getName() + " of " + f.getDeclaringClass().getName()
                + " is a " + f.getGenericType() + "; only Map<String, String> maps have a text form");
    }

    private static final List<Class<?>> SCALARS = List.of(int.class, Integer.class, long.class, Long.class,
            float.class, Float.class, double.class, Double.class, boolean.class, Boolean.class, String.class);

    private static void requireScalar(Class<?> type, Field f) {
        if (!SCALARS.contains(f.getType()) && !f.getType().isEnum()) {
            throw new IllegalArgumentException("@Config field " + f.getName() + " of " + type.getName() + " is a "
                    + f.getType().getName() + ", which has no text form (numbers, booleans, strings, enums and "
                    + "Map<String, String> have)");
        }
    }

    /** The value of text {@code text} of entry {@code key} for field {@code f}. */
    private static Object parse(Field f, String key, String text) {
        Class<?> t = f.getType();
        try {
            if (t == int.class || t == Integer.class) {
                return Integer.parseInt(text);
            } else if (t == long.class || t == Long.class) {
                return Long.parseLong(text);
            } else if (t == float.class || t == Float.class) {
                return Float.parseFloat(text);
            } else if (t == double.class || t == Double.class) {
                return Double.parseDouble(text);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' = '" + text + "' is not " + (t.getSimpleName()
                    .matches("(?i)int|integer") ? "an int" : "a " + t.getSimpleName().toLowerCase(java.util.Locale.ROOT)),
                    e);
        }
        if (t == boolean.class || t == Boolean.class) {
            if (!text.equals("true") && !text.equals("false")) {
                throw new IllegalArgumentException("'" + key + "' = '" + text + "' is not a boolean (true or false)");
            }
            return Boolean.parseBoolean(text);
        }
        if (t.isEnum()) {
            return Arrays.stream(t.getEnumConstants()).filter(c -> ((Enum<?>) c).name().equals(text)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("'" + key + "' = '" + text + "' is not one of "
                            + String.join(" | ", Arrays.stream(t.getEnumConstants())
                            .map(c -> ((Enum<?>) c).name()).toList())));
        }
        return text;
    }

    private static void write(Field f, Object target, Object value) {
        try {
            f.set(target, value);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set @Config field " + f.getName(), e);
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
