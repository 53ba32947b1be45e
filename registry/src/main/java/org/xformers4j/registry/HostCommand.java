package org.xformers4j.registry;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.Function;

/**
 * A command of the {@code xformers4j} host, contributed by a bundle. Each is a Declarative Services
 * component registered as a {@code java.util.function.Function<String[], Integer>} service with the
 * properties {@value #NAME_PROPERTY} (what the user types) and {@value #SUMMARY_PROPERTY} (one line
 * for the host's help): the function takes the arguments after the command name, writes its output
 * to {@code System.out} and errors to {@code System.err}, and returns the exit code:
 * {@value #OK}, {@value #FAILURE} when the command could not do what was asked (an unknown
 * component, bad data), {@value #USAGE} when the arguments were wrong. The host only sees JDK
 * types, so it needs none of the bundles' classes.
 */
public abstract class HostCommand implements Function<String[], Integer> {

    /** Service property: the command name. */
    public static final String NAME_PROPERTY = "xformers4j.command";
    /** Service property: one line saying what the command does. */
    public static final String SUMMARY_PROPERTY = "xformers4j.command.summary";

    /** Exit code: done. */
    public static final int OK = 0;
    /** Exit code: the command could not do what was asked. */
    public static final int FAILURE = 1;
    /** Exit code: the arguments were wrong; the usage went to the error stream. */
    public static final int USAGE = 2;

    /**
     * Runs the command on {@code args} with {@code System.out} and {@code System.err}; with
     * {@code --help} or {@code -h} among them it prints the {@link #usage()} instead and returns {@value #OK}.
     */
    @Override
    public final Integer apply(String[] args) {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println(usage());
            return OK;
        }
        return run(args, System.out, System.err);
    }

    /** Runs the command on {@code args}, writing to {@code out} and {@code err}; returns the exit code. */
    public abstract int run(String[] args, PrintStream out, PrintStream err);

    /** How to call the command, e.g. {@code usage: xformers4j info [--json]}. */
    protected abstract String usage();

    /** Reports {@code problem} and the usage on {@code err}; returns {@link #USAGE}. */
    protected final int usageError(PrintStream err, String problem) {
        err.println(problem);
        err.println(usage());
        return USAGE;
    }

    /** Reports {@code problem} on {@code err}; returns {@link #FAILURE}. */
    protected static int failure(PrintStream err, String problem) {
        err.println(problem);
        return FAILURE;
    }
}
