package org.xformers4j.models.command;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options and {@code --flag} switches of a command line; any other
 * argument, an unknown option or an option without its value is an {@link IllegalArgumentException}
 * naming it, which the commands report as a usage error.
 */
record Arguments(Map<String, String> values, Set<String> flags) {

    static Arguments parse(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        Map<String, String> values = new HashMap<>();
        Set<String> flags = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (flagOptions.contains(arg)) {
                flags.add(arg);
            } else if (valueOptions.contains(arg)) {
                if (i + 1 == args.length || args[i + 1].startsWith("--")) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                if (values.put(arg, args[++i]) != null) {
                    throw new IllegalArgumentException(arg + " given twice");
                }
            } else {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
        }
        return new Arguments(values, flags);
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
        return values.containsKey(option) || flags.contains(option);
    }
}
