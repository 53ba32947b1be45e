package org.xformers4j.cli;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.osgi.framework.ServiceReference;
import org.xformers4j.host.OsgiHost;

/**
 * The subcommands that bundles publish inside the framework: services registered as
 * {@code java.util.function.Function<String[], Integer>} with the properties {@value #NAME} (the word
 * that selects it) and {@value #SUMMARY} (one line for the usage). The function takes the arguments
 * after the command name, writes to {@code System.out} / {@code System.err} and returns the exit code.
 */
final class ServiceCommands {

    static final String NAME = "xformers4j.command";
    static final String SUMMARY = "xformers4j.command.summary";

    private static final String ANY = "(&(objectClass=" + Function.class.getName() + ")(" + NAME + "=*))";
    /** Command names are plain words; anything else cannot name one (and needs no LDAP escaping). */
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private ServiceCommands() {
    }

    /**
     * Name → summary of the command services, sorted by name, after waiting up to {@code timeout} for
     * the first one to appear (see {@link #find}).
     */
    static Map<String, String> list(OsgiHost host, Duration timeout) throws InterruptedException {
        awaitAny(host, timeout);
        Map<String, String> commands = new TreeMap<>();
        for (ServiceReference<?> ref : host.serviceReferences(ANY)) {
            Object summary = ref.getProperty(SUMMARY);
            commands.put(String.valueOf(ref.getProperty(NAME)), summary == null ? "" : summary.toString());
        }
        return commands;
    }

    /**
     * The command service called {@code name}. Bundles publish their commands through Declarative
     * Services, which registers them while the bundles start, so once the first command has appeared
     * (waiting up to {@code timeout} for it) a name that is not registered is not a command.
     */
    @SuppressWarnings("unchecked")
    static Optional<Function<String[], Integer>> find(OsgiHost host, String name, Duration timeout)
            throws InterruptedException {
        if (!WORD.matcher(name).matches() || !awaitAny(host, timeout)) {
            return Optional.empty();
        }
        String filter = "(&(objectClass=" + Function.class.getName() + ")(" + NAME + "=" + name + "))";
        if (host.serviceReferences(filter).isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of((Function<String[], Integer>) host.waitForService(filter, timeout));
        } catch (TimeoutException e) {
            return Optional.empty();
        }
    }

    private static boolean awaitAny(OsgiHost host, Duration timeout) throws InterruptedException {
        if (!host.serviceReferences(ANY).isEmpty()) {
            return true;
        }
        try {
            host.waitForService(ANY, timeout);
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }
}
