package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code xformers4j} command: {@code xformers4j <command> [args]}.
 *
 * <p>Subcommands are a table of {@link Command}s; add one by adding it to {@link #COMMANDS}.
 * Exit codes: 0 success, 1 failure, 2 bad command line (the message names the offending option).
 */
public final class Main {

    /** The subcommands, in the order the usage lists them. */
    static final Map<String, Command> COMMANDS = table(new BenchCommand());

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
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs a command line; returns the exit code instead of exiting. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(usage());
            return 2;
        }
        String name = args[0];
        if (name.equals("--help") || name.equals("-h") || name.equals("help")) {
            out.println(usage());
            return 0;
        }
        Command command = COMMANDS.get(name);
        if (command == null) {
            err.println("xformers4j: unknown command '" + name + "'");
            err.println(usage());
            return 2;
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
            err.println(e.usage());
            return 2;
        } catch (IllegalArgumentException e) {
            err.println("xformers4j " + name + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("xformers4j " + name + ": failed: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    static String usage() {
        StringBuilder sb = new StringBuilder("usage: xformers4j <command> [options]\n\ncommands:\n");
        for (Command c : COMMANDS.values()) {
            sb.append(String.format("  %-8s %s%n", c.name(), c.summary()));
        }
        sb.append("\nRun 'xformers4j <command> --help' for a command's options.");
        return sb.toString();
    }
}
