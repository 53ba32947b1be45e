package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.List;
import org.xformers4j.registry.UsageException;

/** One subcommand of {@code xformers4j}. */
interface Command {

    /** The word that selects it, e.g. {@code bench}. */
    String name();

    /** A one-line summary for the top-level usage. */
    String summary();

    /** Full usage text. */
    String usage();

    /**
     * The usage {@link Main} prints after a {@link UsageException} thrown for {@code args}: {@link #usage()},
     * or the part of it about the subcommand {@code args} select.
     */
    default String usageFor(List<String> args) {
        return usage();
    }

    /**
     * Runs the command on the arguments after its name, parsed with the registry's
     * {@link org.xformers4j.registry.CommandLine}. Results go to {@code out}, diagnostics and
     * progress to {@code err}.
     *
     * @return the process exit code
     * @throws UsageException for a bad command line (exit code 2, with {@link #usageFor} the arguments)
     */
    int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
