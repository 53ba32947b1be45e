package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.xformers4j.models.lm.TextGenerator;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.ConfigFiles;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.RegistryAware;

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

    /**
     * The component {@code name} of the OLCUT configuration {@code file}, which must be a
     * {@code type} ({@code what} describes it in errors), opened through {@link ConfigFiles} (an
     * untrusted file: no DTDs or external entities, no includes). The components the configuration names
     * (attention mechanisms, positional encodings) are found through the host's {@code registry}: a
     * configured object that creates components ({@link RegistryAware}, as the trainers are) is handed
     * it right after OLCUT has built it, which checks the names, so a misspelt one fails here naming
     * the closest registered ones. OLCUT creates the classes the file names with
     * {@code Class.forName} from its own class loader, which inside the OSGi host is the Tribuo
     * bundle's: it imports every exported package dynamically, this bundle's included.
     */
    static <T> T configured(Path file, String name, Class<T> type, String what, ComponentRegistry registry) {
        Object component;
        try (ConfigurationManager manager = ConfigFiles.open(file)) {
            if (!manager.getComponentNames().contains(name)) {
                throw new IllegalArgumentException("config " + file + ": no component named '" + name
                        + "' (components: " + String.join(", ", manager.getComponentNames()) + "); name it with --trainer");
            }
            try {
                component = manager.lookup(name);
                if (component instanceof RegistryAware aware) {
                    aware.useRegistry(registry);
                }
            } catch (RuntimeException e) {
                // OLCUT's PropertyException and whatever a component's postConfig throws, named with the file.
                throw new IllegalArgumentException("config " + file + ": " + messages(e), e);
            }
        }
        if (!type.isInstance(component)) {
            throw new IllegalArgumentException("config " + file + ": component '" + name + "' is a "
                    + component.getClass().getName() + ", not " + what);
        }
        return type.cast(component);
    }

    /**
     * Checks, before anything is trained, that the model directory of {@code --save}, when given
     * (not null), can be written: it is a directory or does not exist yet, and the nearest existing
     * directory above it is writable. A bad path found only after training would throw the model away.
     *
     * @throws IllegalArgumentException naming the path and what is wrong with it
     */
    static void checkSaveDirectory(Path save) {
        if (save == null) {
            return;
        }
        Path directory = save.toAbsolutePath();
        if (Files.exists(directory) && !Files.isDirectory(directory)) {
            throw new IllegalArgumentException("--save " + directory + ": a file is in the way of the model directory");
        }
        Path existing = directory;
        while (!Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (!Files.isDirectory(existing) || !Files.isWritable(existing)) {
            throw new IllegalArgumentException("--save " + directory + ": cannot be written ("
                    + existing + (Files.isDirectory(existing) ? " is not writable)" : " is not a directory)"));
        }
    }

    /**
     * Writes the chart of the curves to the file of {@code --plot}, when given, once the model is
     * saved, and says so through {@code say}.
     *
     * @return {@link #OK}, or {@link #FAILURE} after reporting why the chart could not be written
     */
    static int plotIfAsked(String command, TrainingOutputs outputs, String title, Consumer<String> say,
                           PrintStream err) {
        try {
            String written = outputs.writePlot(title);
            if (written != null) {
                say.accept(written);
            }
            return OK;
        } catch (IOException | RuntimeException e) {
            return failure(err, command + ": cannot write the plot: " + messages(e));
        }
    }

    /**
     * Saves a trained model into {@code directory}, the directory of {@code --save} when given
     * (else null: nothing to do), and says so.
     *
     * @return {@link #OK}, or {@link #FAILURE} after reporting why the model could not be saved
     */
    static int saveIfAsked(String command, Path directory, TextGenerator model, TrainingReport report,
                           PrintStream err) {
        if (directory == null) {
            return OK;
        }
        try {
            model.save(directory);
        } catch (RuntimeException e) {
            return failure(err, command + ": cannot save the model to " + directory + ": " + messages(e));
        }
        report.say("model saved to " + directory);
        return OK;
    }
}
