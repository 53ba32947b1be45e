package org.xformers4j.models.command;

import java.io.PrintStream;
import java.util.function.Function;

/**
 * A command of the {@code xformers4j} host, published as a Declarative Services component: a
 * {@code Function<String[], Integer>} service with the properties {@value #NAME_PROPERTY} (what the
 * user types) and {@value #SUMMARY_PROPERTY} (one line for the host's help). The function takes the
 * arguments after the command name, writes to {@code System.out} and {@code System.err}, and
 * returns the exit code: {@value #OK}, {@value #FAILURE} when the command could not do what was
 * asked (bad configuration, bad data), {@value #USAGE} when the arguments were wrong.
 */
abstract class Command implements Function<String[], Integer> {

    static final String NAME_PROPERTY = "xformers4j.command";
    static final String SUMMARY_PROPERTY = "xformers4j.command.summary";

    static final int OK = 0;
    static final int FAILURE = 1;
    static final int USAGE = 2;

    @Override
    public final Integer apply(String[] args) {
        return run(args, System.out, System.err);
    }

    /** Runs the command on {@code args}, writing to {@code out} and {@code err}; returns the exit code. */
    abstract int run(String[] args, PrintStream out, PrintStream err);

    /** How to call the command. */
    abstract String usage();

    /** Reports {@code problem} and the usage on {@code err}; returns {@link #USAGE}. */
    final int usageError(PrintStream err, String problem) {
        err.println(problem);
        err.println(usage());
        return USAGE;
    }

    /** Reports {@code problem} on {@code err}; returns {@link #FAILURE}. */
    static int failure(PrintStream err, String problem) {
        err.println(problem);
        return FAILURE;
    }

    /**
     * The messages of {@code e} and its causes, outermost first, each once: configuration errors
     * arrive wrapped (OLCUT's lookup around the trainer's {@code postConfig}) and the useful
     * message, such as the closest registered component names, is often the innermost.
     */
    static String messages(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (out.indexOf(message) < 0) {
                out.append(out.length() == 0 ? "" : "\n  caused by: ").append(message);
            }
        }
        return out.toString();
    }
}
