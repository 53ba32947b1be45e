package org.xformers4j.registry;

/**
 * A bad command line: an unknown option, an option without its value or given twice, a value of
 * the wrong kind, a missing required option. The message names the option and the offending
 * value (e.g. {@code --steps must be an integer, got 'x'}); a command reports it with its usage
 * and exits with {@link HostCommand#USAGE}.
 *
 * <p>An {@link IllegalArgumentException}, so that a command that checks its own option values can
 * report those and the parser's the same way; catch this type where a usage error must be told
 * apart from a failure.
 */
public final class UsageException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /**
     * A usage error.
     *
     * @param message what is wrong, naming the option or argument
     */
    public UsageException(String message) {
        super(message);
    }
}
