package org.xformers4j.models.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options and {@code --flag} switches of a command line; any other
 * argument, an unknown option or an option without its value is an {@link IllegalArgumentException}
 * naming it, which the commands report as a usage error.
 */
record Arguments(Map<String, String> values, Set<String> flags, Map<String, List<String>> repeated) {

    static Arguments parse(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        return parse(args, valueOptions, flagOptions, Set.of());
    }

    /** As {@link #parse(String[], Set, Set)}, with options that may be given several times ({@link #all}). */
    static Arguments parse(String[] args, Set<String> valueOptions, Set<String> flagOptions,
                           Set<String> repeatableOptions) {
        Map<String, String> values = new HashMap<>();
        Set<String> flags = new HashSet<>();
        Map<String, List<String>> repeated = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (flagOptions.contains(arg)) {
                flags.add(arg);
            } else if (valueOptions.contains(arg) || repeatableOptions.contains(arg)) {
                if (i + 1 == args.length || args[i + 1].startsWith("--")) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                String value = args[++i];
                if (repeatableOptions.contains(arg)) {
                    repeated.computeIfAbsent(arg, k -> new ArrayList<>()).add(value);
                } else if (values.put(arg, value) != null) {
                    throw new IllegalArgumentException(arg + " given twice");
                }
            } else {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
        }
        return new Arguments(values, flags, repeated);
    }

    /** The value of {@code option}, which must be present. */
    String required(String option) {
        String value = values.get(option);
        if (value == null) {
            throw new IllegalArgumentException(option + " is required");
        }
        return value;
    }

    String get(String option, String otherwise) {
        return values.getOrDefault(option, otherwise);
    }

    boolean has(String option) {
        return values.containsKey(option) || flags.contains(option) || repeated.containsKey(option);
    }

    /** Every value of a repeatable option, in order; empty when it is not given. */
    List<String> all(String option) {
        return repeated.getOrDefault(option, List.of());
    }

    /** The value of {@code option} as an integer, or {@code otherwise} when it is absent. */
    int integer(String option, int otherwise) {
        String value = values.get(option);
        if (value == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be an integer, got '" + value + "'");
        }
    }
}
