package org.xformers4j.models.command;

import org.xformers4j.registry.HostCommand;

/** A command of this bundle: a {@link HostCommand} that reports configuration and data errors with their causes. */
abstract class Command extends HostCommand {

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
