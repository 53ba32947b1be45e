package org.xformers4j.cli;

/** A bad command line: the message says what is wrong; {@link Main} prints it with usage and exits 2. */
final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String usage;

    UsageException(String message, String usage) {
        super(message);
        this.usage = usage;
    }

    /** The usage text of the (sub)command that failed. */
    String usage() {
        return usage;
    }
}
