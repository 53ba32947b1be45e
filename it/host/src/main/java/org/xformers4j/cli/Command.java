package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.List;

/** One subcommand of {@code xformers4j}. */
interface Command {

    /** The word that selects it, e.g. {@code bench}. */
    String name();

    /** A one-line summary for the top-level usage. */
    String summary();

    /** Full usage text. */
    String usage();

    /**
     * Runs the command on the arguments after its name. Results go to {@code out}, diagnostics and
     * progress to {@code err}.
     *
     * @return the process exit code
     * @throws UsageException for a bad command line (exit code 2)
     */
    int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
