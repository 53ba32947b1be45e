package org.xformers4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Minimal {@code --name value} / {@code --flag} parsing with errors that name the option. */
final class Options {

    private final Map<String, String> values = new LinkedHashMap<>();
    private final Map<String, List<String>> repeated = new LinkedHashMap<>();
    private final List<String> flags = new ArrayList<>();
    private final String usage;

    private Options(String usage) {
        this.usage = usage;
    }

    /**
     * Parses {@code args}: {@code withValue} options take the next argument (or {@code --opt=value}),
     * {@code flagNames} take none. Anything else is an error.
     */
    static Options parse(List<String> args, Set<String> withValue, Set<String> flagNames, String usage)
            throws UsageException {
        return parse(args, withValue, flagNames, Set.of(), usage);
    }

    /**
     * As {@link #parse(List, Set, Set, String)}, and {@code repeatable} options take a value each
     * time they are given ({@link #all}).
     */
    static Options parse(List<String> args, Set<String> withValue, Set<String> flagNames, Set<String> repeatable,
                         String usage) throws UsageException {
        Options o = new Options(usage);
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg;
            String inline = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                inline = arg.substring(eq + 1);
            }
            if (withValue.contains(name) || repeatable.contains(name)) {
                String value = inline;
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException("option " + name + " needs a value", usage);
                    }
                    value = args.get(++i);
                }
                if (repeatable.contains(name)) {
                    o.repeated.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
                } else if (o.values.putIfAbsent(name, value) != null) {
                    throw new UsageException("option " + name + " given twice", usage);
                }
            } else if (flagNames.contains(name) && inline == null) {
                o.flags.add(name);
            } else if (arg.startsWith("-")) {
                throw new UsageException("unknown option " + arg, usage);
            } else {
                throw new UsageException("unexpected argument '" + arg + "'", usage);
            }
        }
        return o;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    /** Every value of a repeatable option, in order; empty when it was not given. */
    List<String> all(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    /**
     * The {@code NAME=VALUE} values of a repeatable option as a map.
     *
     * @throws UsageException for a value without a name or a name given twice
     */
    Map<String, String> pairs(String name) throws UsageException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : all(name)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("option " + name + " must be NAME=VALUE, got '" + pair + "'", usage);
            }
            if (out.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim()) != null) {
                throw new UsageException("option " + name + " " + pair.substring(0, eq) + " given twice", usage);
            }
        }
        return out;
    }

    /** The value of an option that must be given. */
    String required(String name) throws UsageException {
        String v = values.get(name);
        if (v == null || v.isBlank()) {
            throw new UsageException("option " + name + " is required", usage);
        }
        return v.trim();
    }

    /** The value of an option, trimmed, or {@code dflt} when absent. */
    String value(String name, String dflt) {
        String v = values.get(name);
        return v == null ? dflt : v.trim();
    }

    /** The value of a non-negative integer option, or {@code dflt} when absent. */
    int nonNegativeInt(String name, int dflt) throws UsageException {
        String v = values.get(name);
        try {
            int x = v == null ? dflt : Integer.parseInt(v.trim());
            if (x >= 0) {
                return x;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new UsageException("option " + name + " must be a non-negative integer, got '" + v + "'", usage);
    }

    /** The value of a positive-integer option, or {@code dflt} when absent. */
    int positiveInt(String name, int dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            int x = Integer.parseInt(v.trim());
            if (x > 0) {
                return x;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new UsageException("option " + name + " must be a positive integer, got '" + v + "'", usage);
    }
}
