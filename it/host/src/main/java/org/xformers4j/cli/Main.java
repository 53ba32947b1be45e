package org.xformers4j.cli;

import com.oracle.labs.mlrg.olcut.config.PropertyException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.xformers4j.host.OsgiHost;
import org.xformers4j.registry.UsageException;

/**
 * The {@code xformers4j} command: {@code xformers4j <command> [args]}.
 *
 * <p>Two sources of subcommands. The host-local ones in {@link #COMMANDS} run without a framework
 * ({@code bench}). Every other name is looked up among the command services that the project's
 * bundles publish (see {@link ServiceCommands}): the host starts the embedded Felix framework with
 * every bundle of the bundles directory ({@link OsgiHost}), runs the command, stops the framework
 * and exits with the command's code. Exit codes: 0 success, 1 failure, 2 bad command line (the
 * message names the offending option).
 */
public final class Main {

    /** The host-local subcommands, in the order the usage lists them. */
    static final Map<String, Command> COMMANDS = table(new BenchCommand());

    /** How long to wait for the bundles' command services once the framework has started. */
    static final Duration SERVICE_TIMEOUT = Duration.ofSeconds(15);

    private Main() {
    }

    private static Map<String, Command> table(Command... commands) {
        Map<String, Command> m = new LinkedHashMap<>();
        for (Command c : commands) {
            m.put(c.name(), c);
        }
        return m;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args, System.out, System.err);
        } catch (OutOfMemoryError e) {
            // the launcher's default heap is small (README, "Memory"): say how to raise it
            System.err.println("xformers4j: out of memory: the Java heap is limited to "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB; give it more with "
                    + "XFORMERS4J_JAVA_OPTS=-Xmx4g (or any size) and run the command again");
            code = 1;
        }
        System.out.flush();
        System.exit(code);
    }

    /** Runs a command line; returns the exit code instead of exiting. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(usageWithServices(err));
            return 2;
        }
        String name = args[0];
        if (name.equals("--help") || name.equals("-h") || name.equals("help")) {
            out.println(usageWithServices(err));
            return 0;
        }
        Command command = COMMANDS.get(name);
        if (command == null) {
            return runService(name, Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        if (rest.contains("--help") || rest.contains("-h")) {
            out.println(command.usage());
            return 0;
        }
        try {
            return command.run(rest, out, err);
        } catch (UsageException e) {
            err.println("xformers4j " + name + ": " + e.getMessage());
            err.println(command.usageFor(rest));
            return 2;
        } catch (IllegalArgumentException | PropertyException e) {
            err.println("xformers4j " + name + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("xformers4j " + name + ": failed: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    /** Runs the command service {@code name} inside a freshly started framework. */
    private static int runService(String name, String[] args, PrintStream out, PrintStream err) {
        try (OsgiHost host = OsgiHost.start(OsgiHost.defaultBundlesDirectory())) {
            Optional<Function<String[], Integer>> command = ServiceCommands.find(host, name, SERVICE_TIMEOUT);
            if (command.isEmpty()) {
                err.println("xformers4j: unknown command '" + name + "'");
                err.println(usage(ServiceCommands.list(host, Duration.ZERO)));
                return 2;
            }
            return invoke(name, command.get(), args, out, err);
        } catch (IllegalStateException e) {
            err.println("xformers4j " + name + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("xformers4j " + name + ": interrupted");
            return 1;
        }
    }

    /**
     * Calls a command service. It writes to {@code System.out} and {@code System.err}, which are
     * pointed at {@code out} and {@code err} for the call when those are other streams (tests).
     */
    private static int invoke(String name, Function<String[], Integer> command, String[] args,
                              PrintStream out, PrintStream err) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        System.setOut(out);
        System.setErr(err);
        try {
            Integer code = command.apply(args);
            if (code == null) {
                err.println("xformers4j " + name + ": the command returned no exit code");
                return 1;
            }
            return code;
        } catch (RuntimeException e) {
            err.println("xformers4j " + name + ": failed: " + e);
            e.printStackTrace(err);
            return 1;
        } finally {
            out.flush();
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    /**
     * The usage with the command services of the bundles; if the framework cannot start, the
     * host-local commands and, on {@code err}, why the others are missing.
     */
    private static String usageWithServices(PrintStream err) {
        try (OsgiHost host = OsgiHost.start(OsgiHost.defaultBundlesDirectory())) {
            return usage(ServiceCommands.list(host, SERVICE_TIMEOUT));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return usage(Map.of());
        } catch (IllegalStateException e) {
            err.println("xformers4j: the bundles' commands are unavailable: " + e.getMessage());
            return usage(Map.of());
        }
    }

    /** The usage: host-local commands, then the command services (name → summary). */
    static String usage(Map<String, String> services) {
        StringBuilder sb = new StringBuilder("usage: xformers4j <command> [options]\n\ncommands:\n");
        int width = Math.max(COMMANDS.values().stream().mapToInt(c -> c.name().length()).max().orElse(0),
                services.keySet().stream().mapToInt(String::length).max().orElse(0));
        String line = "  %-" + width + "s %s%n";
        for (Command c : COMMANDS.values()) {
            sb.append(String.format(line, c.name(), c.summary()));
        }
        services.forEach((name, summary) -> sb.append(String.format(line, name, summary)));
        sb.append("\nRun 'xformers4j <command> --help' for a command's options.");
        return sb.toString();
    }
}
