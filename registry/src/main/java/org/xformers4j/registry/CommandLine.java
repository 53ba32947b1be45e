package org.xformers4j.registry;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed arguments of a command: the one command-line parser of every {@code xformers4j}
 * command, those the bundles publish ({@link HostCommand}) and the host's own.
 *
 * <p>A command declares its {@link Syntax} once and parses each command line against it:
 * <pre>{@code
 * static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
 *         .values("--config", "--steps").flags("--json").repeatable("--option");
 * CommandLine line = SYNTAX.parse(args);            // throws UsageException
 * Path config = line.path("--config");              // required
 * int steps = line.integer("--steps", 100);
 * }</pre>
 *
 * <p>The rules:
 * <ul>
 *   <li>a <em>value option</em> takes the next argument, {@code --steps 10}, or the text after
 *       {@code =}, {@code --steps=10}; the next argument is not taken when it starts with
 *       {@code --} ({@code --steps needs a value}), so a value that does must be written
 *       {@code --prompt=--x}. It may be given once ({@code --steps given twice});</li>
 *   <li>a <em>flag</em> takes no value ({@code --json=yes} is an error) and may be repeated;</li>
 *   <li>a <em>repeatable option</em> takes a value each time it is given; {@link #all} returns
 *       them in the order given;</li>
 *   <li>an <em>operand</em> is an argument that does not start with {@code -}, accepted up to the
 *       number the syntax allows ({@link Syntax#operands}, none by default);</li>
 *   <li>anything else is {@code unexpected argument 'ARG'}.</li>
 * </ul>
 * Values are kept as given (not trimmed); the numeric getters ignore surrounding white space.
 * Every error is a {@link UsageException} whose message names the option and the value, e.g.
 * {@code --steps must be an integer, got 'x'}. {@code --help} and {@code -h} are not options of
 * the syntax: {@link HostCommand#apply} and the host answer them before a command parses.
 *
 * <p>A getter asked about an option that the syntax does not declare throws
 * {@link IllegalStateException}: that is a mistake in the command, not in its command line.
 */
public final class CommandLine {

    private final Syntax syntax;
    private final Map<String, String> values;
    private final Set<String> flags;
    private final Map<String, List<String>> repeated;
    private final List<String> operands;

    private CommandLine(Syntax syntax, Map<String, String> values, Set<String> flags,
                        Map<String, List<String>> repeated, List<String> operands) {
        this.syntax = syntax;
        this.values = values;
        this.flags = flags;
        this.repeated = repeated;
        this.operands = operands;
    }

    /** An empty syntax: no options, no operands; add them with the methods of {@link Syntax}. */
    public static Syntax syntax() {
        return new Syntax(Set.of(), Set.of(), Set.of(), 0);
    }

    /**
     * The options and operands a command accepts. Immutable: each method returns a new syntax, so
     * a command can keep its syntax in a constant.
     */
    public static final class Syntax {

        private final Set<String> values;
        private final Set<String> flags;
        private final Set<String> repeatable;
        private final int operands;

        private Syntax(Set<String> values, Set<String> flags, Set<String> repeatable, int operands) {
            this.values = values;
            this.flags = flags;
            this.repeatable = repeatable;
            this.operands = operands;
        }

        /**
         * This syntax and the value options {@code names} (each written with its dashes, e.g.
         * {@code --steps}), each taking one value and given at most once.
         *
         * @throws IllegalArgumentException for a name declared already or not starting with {@code --}
         */
        public Syntax values(String... names) {
            return new Syntax(add(values, names), flags, repeatable, operands);
        }

        /**
         * This syntax and the flags {@code names}, options without a value.
         *
         * @throws IllegalArgumentException for a name declared already or not starting with {@code --}
         */
        public Syntax flags(String... names) {
            return new Syntax(values, add(flags, names), repeatable, operands);
        }

        /**
         * This syntax and the repeatable options {@code names}, each taking a value every time it is given.
         *
         * @throws IllegalArgumentException for a name declared already or not starting with {@code --}
         */
        public Syntax repeatable(String... names) {
            return new Syntax(values, flags, add(repeatable, names), operands);
        }

        /**
         * This syntax accepting at most {@code atMost} operands (arguments that are not options,
         * such as the component name of {@code describe NAME}); {@link Integer#MAX_VALUE} for any number.
         *
         * @throws IllegalArgumentException for a negative count
         */
        public Syntax operands(int atMost) {
            if (atMost < 0) {
                throw new IllegalArgumentException("operands: " + atMost + " < 0");
            }
            return new Syntax(values, flags, repeatable, atMost);
        }

        /**
         * Parses {@code args}, the arguments after the command's name.
         *
         * @throws UsageException for an argument the syntax does not accept, an option without its
         *                        value, or a value option given twice
         */
        public CommandLine parse(String... args) {
            return parse(Arrays.asList(args));
        }

        /**
         * Parses {@code args}, the arguments after the command's name.
         *
         * @throws UsageException for an argument the syntax does not accept, an option without its
         *                        value, or a value option given twice
         */
        public CommandLine parse(List<String> args) {
            Map<String, String> given = new LinkedHashMap<>();
            Set<String> givenFlags = new LinkedHashSet<>();
            Map<String, List<String>> givenRepeated = new LinkedHashMap<>();
            List<String> givenOperands = new ArrayList<>();
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                String name = arg;
                String inline = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 2) {
                    name = arg.substring(0, eq);
                    inline = arg.substring(eq + 1);
                }
                if (values.contains(name) || repeatable.contains(name)) {
                    String value = inline;
                    if (value == null) {
                        if (i + 1 == args.size() || args.get(i + 1).startsWith("--")) {
                            throw new UsageException(name + " needs a value");
                        }
                        value = args.get(++i);
                    }
                    if (repeatable.contains(name)) {
                        givenRepeated.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
                    } else if (given.putIfAbsent(name, value) != null) {
                        throw new UsageException(name + " given twice");
                    }
                } else if (flags.contains(name)) {
                    if (inline != null) {
                        throw new UsageException(name + " takes no value, got '" + arg + "'");
                    }
                    givenFlags.add(name);
                } else if (arg.startsWith("-") || givenOperands.size() >= operands) {
                    throw new UsageException("unexpected argument '" + arg + "'");
                } else {
                    givenOperands.add(arg);
                }
            }
            givenRepeated.replaceAll((n, list) -> Collections.unmodifiableList(list));
            return new CommandLine(this, Collections.unmodifiableMap(given), Collections.unmodifiableSet(givenFlags),
                    Collections.unmodifiableMap(givenRepeated), Collections.unmodifiableList(givenOperands));
        }

        private Set<String> add(Set<String> to, String... names) {
            Set<String> out = new LinkedHashSet<>(to);
            for (String name : names) {
                if (!name.startsWith("--") || name.length() < 3 || name.indexOf('=') >= 0) {
                    throw new IllegalArgumentException("an option is --NAME, got '" + name + "'");
                }
                if (values.contains(name) || flags.contains(name) || repeatable.contains(name) || !out.add(name)) {
                    throw new IllegalArgumentException(name + " is declared twice");
                }
            }
            return Collections.unmodifiableSet(out);
        }

        private boolean declares(String name) {
            return values.contains(name) || flags.contains(name) || repeatable.contains(name);
        }
    }

    /** Whether the option {@code name} (a value option, flag or repeatable option) was given. */
    public boolean has(String name) {
        declared(name);
        return values.containsKey(name) || flags.contains(name) || repeated.containsKey(name);
    }

    /** Whether the flag {@code name} was given. */
    public boolean flag(String name) {
        if (!syntax.flags.contains(name)) {
            throw new IllegalStateException(name + " is not a flag of this syntax");
        }
        return flags.contains(name);
    }

    /** The value of the option {@code name} as given, or {@code otherwise} (may be null) when it was not given. */
    public String value(String name, String otherwise) {
        valueOption(name);
        return values.getOrDefault(name, otherwise);
    }

    /**
     * The value of the option {@code name}, which must be given.
     *
     * @throws UsageException {@code --NAME is required}
     */
    public String required(String name) {
        valueOption(name);
        String value = values.get(name);
        if (value == null) {
            throw new UsageException(name + " is required");
        }
        return value;
    }

    /**
     * Every value of the repeatable option {@code name}, in the order given; empty when it was not given.
     */
    public List<String> all(String name) {
        if (!syntax.repeatable.contains(name)) {
            throw new IllegalStateException(name + " is not a repeatable option of this syntax");
        }
        return repeated.getOrDefault(name, List.of());
    }

    /**
     * The values of the repeatable option {@code name}, each {@code NAME=VALUE}, as a map in the
     * order given, names and values trimmed (e.g. {@code --option numBeams=4}).
     *
     * @throws UsageException for a value without {@code =} or a name ({@code --option must be
     *                        NAME=VALUE, got 'x'}) or a name given twice ({@code --option k given twice})
     */
    public Map<String, String> pairs(String name) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : all(name)) {
            int eq = pair.indexOf('=');
            if (eq < 0 || pair.substring(0, eq).isBlank()) {
                throw new UsageException(name + " must be NAME=VALUE, got '" + pair + "'");
            }
            String key = pair.substring(0, eq).trim();
            if (out.put(key, pair.substring(eq + 1).trim()) != null) {
                throw new UsageException(name + " " + key + " given twice");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * The value of the option {@code name} as an integer, or {@code otherwise} when it was not given.
     *
     * @throws UsageException {@code --NAME must be an integer, got 'x'}
     */
    public int integer(String name, int otherwise) {
        String value = value(name, null);
        if (value == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " must be an integer, got '" + value + "'");
        }
    }

    /**
     * The value of the option {@code name} as an integer &gt; 0, or {@code otherwise} when it was not given.
     *
     * @throws UsageException {@code --NAME must be a positive integer, got 'x'}
     */
    public int positiveInteger(String name, int otherwise) {
        return atLeast(name, otherwise, 1, "a positive integer");
    }

    /**
     * The value of the option {@code name} as an integer &ge; 0, or {@code otherwise} when it was not given.
     *
     * @throws UsageException {@code --NAME must be a non-negative integer, got 'x'}
     */
    public int nonNegativeInteger(String name, int otherwise) {
        return atLeast(name, otherwise, 0, "a non-negative integer");
    }

    private int atLeast(String name, int otherwise, int least, String what) {
        String value = value(name, null);
        if (value == null) {
            return otherwise;
        }
        try {
            int x = Integer.parseInt(value.strip());
            if (x >= least) {
                return x;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(name + " must be " + what + ", got '" + value + "'");
    }

    /**
     * The value of the option {@code name} as a finite number, or {@code otherwise} when it was not given.
     *
     * @throws UsageException {@code --NAME must be a number, got 'x'}, or {@code --NAME must be a
     *                        finite number, got 'NaN'} for NaN and infinities
     */
    public double number(String name, double otherwise) {
        String value = value(name, null);
        if (value == null) {
            return otherwise;
        }
        double x;
        try {
            x = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " must be a number, got '" + value + "'");
        }
        if (!Double.isFinite(x)) {
            throw new UsageException(name + " must be a finite number, got '" + value + "'");
        }
        return x;
    }

    /**
     * The value of the option {@code name}, which must be given, as a path (not checked for existence).
     *
     * @throws UsageException {@code --NAME is required}, or {@code --NAME must be a path, got 'x' (reason)}
     */
    public Path path(String name) {
        return toPath(name, required(name));
    }

    /**
     * The value of the option {@code name} as a path (not checked for existence), or
     * {@code otherwise} (may be null) when it was not given.
     *
     * @throws UsageException {@code --NAME must be a path, got 'x' (reason)}
     */
    public Path path(String name, Path otherwise) {
        String value = value(name, null);
        return value == null ? otherwise : toPath(name, value);
    }

    private static Path toPath(String name, String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new UsageException(name + " must be a path, got '" + value + "' (" + e.getReason() + ")");
        }
    }

    /** The operands, in the order given; empty when there were none. */
    public List<String> operands() {
        return operands;
    }

    private void declared(String name) {
        if (!syntax.declares(name)) {
            throw new IllegalStateException(name + " is not an option of this syntax");
        }
    }

    private void valueOption(String name) {
        if (!syntax.values.contains(name)) {
            throw new IllegalStateException(name + " is not a value option of this syntax");
        }
    }
}
