package org.xformers4j.it;

import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reaches objects whose classes a bundle loaded. Inside the framework
 * {@code org.xformers4j.registry.ComponentRegistry} and the descriptors it returns are the bundles'
 * classes, not the test class path's classes of the same name, so the tests call them by reflection
 * and compare them as {@link #view views}: plain JDK values that are equal whichever class loader
 * the original came from.
 */
final class Mirror {

    private Mirror() {
    }

    /**
     * Calls the public method {@code name} taking {@code args.length} parameters, declared by a public
     * class or interface of {@code target} (the implementation class itself is usually private to its
     * bundle).
     */
    static Object call(Object target, String name, Object... args) {
        Method method = publicMethod(target.getClass(), name, args.length);
        try {
            return method.invoke(target, args);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot call " + method, e);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(method + " failed", cause);
        }
    }

    private static Method publicMethod(Class<?> type, String name, int arity) {
        Deque<Class<?>> todo = new ArrayDeque<>(List.of(type));
        while (!todo.isEmpty()) {
            Class<?> c = todo.pop();
            if (Modifier.isPublic(c.getModifiers())) {
                for (Method m : c.getMethods()) {
                    if (m.getName().equals(name) && m.getParameterCount() == arity) {
                        return m;
                    }
                }
            }
            if (c.getSuperclass() != null) {
                todo.add(c.getSuperclass());
            }
            todo.addAll(Arrays.asList(c.getInterfaces()));
        }
        throw new IllegalArgumentException(type.getName() + " has no public method " + name + " with " + arity
                + " parameter(s)");
    }

    /**
     * A class-loader-independent copy of {@code value}: records become maps of their components,
     * annotations maps of their members (sorted by name), enums their names, optionals their content
     * or null, collections and arrays lists, maps maps; strings, numbers and booleans stay as they are.
     */
    static Object view(Object value) {
        if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean) {
            return value;
        }
        if (value instanceof Enum<?> e) {
            return e.name();
        }
        if (value instanceof Optional<?> o) {
            return view(o.orElse(null));
        }
        if (value instanceof Collection<?> c) {
            return c.stream().map(Mirror::view).toList();
        }
        if (value instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(view(k), view(v)));
            return out;
        }
        if (value.getClass().isArray()) {
            int n = java.lang.reflect.Array.getLength(value);
            Object[] items = new Object[n];
            for (int i = 0; i < n; i++) {
                items[i] = view(java.lang.reflect.Array.get(value, i));
            }
            return List.of(items);
        }
        if (value instanceof Annotation a) {
            Method[] members = a.annotationType().getDeclaredMethods();
            Arrays.sort(members, Comparator.comparing(Method::getName));
            Map<String, Object> out = new LinkedHashMap<>();
            for (Method m : members) {
                out.put(m.getName(), view(invoke(m, a)));
            }
            return out;
        }
        if (value.getClass().isRecord()) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (RecordComponent rc : value.getClass().getRecordComponents()) {
                out.put(rc.getName(), view(invoke(rc.getAccessor(), value)));
            }
            return out;
        }
        throw new IllegalArgumentException("no view of a " + value.getClass().getName());
    }

    /** The view of a record, as a map. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> record(Object value) {
        if (!value.getClass().isRecord()) {
            throw new IllegalArgumentException(value.getClass().getName() + " is not a record");
        }
        return (Map<String, Object>) view(value);
    }

    private static Object invoke(Method m, Object target) {
        try {
            return m.invoke(target);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + m, e);
        }
    }
}
