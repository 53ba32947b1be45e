package org.xformers4j.models.command;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.xformers4j.models.lm.TextGenerator;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.ConfigFiles;
import org.xformers4j.registry.EffectiveConfiguration;
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
     * The component {@code name} of the OLCUT configuration {@code file} with {@code overrides} (a
     * command's {@code --set COMPONENT.PROPERTY=VALUE} options, in order; see
     * {@link ConfigFiles#open(Path, Map)}), which must be a {@code type} ({@code what} describes it in
     * errors), opened through {@link ConfigFiles} (an untrusted file: no DTDs or external entities, no
     * includes). The components the configuration names (attention mechanisms, positional encodings)
     * are found through the host's {@code registry}: a configured object that creates components
     * ({@link RegistryAware}, as the trainers are) is handed it right after OLCUT has built it, which
     * checks the names, so a misspelt one fails here naming the closest registered ones. A value
     * refused (by OLCUT, a {@code @Range} or the component's own checks) is reported naming the
     * override it came from, if one did. OLCUT creates the classes the file names with
     * {@code Class.forName} from its own class loader, which inside the OSGi host is the Tribuo
     * bundle's: it imports every exported package dynamically, this bundle's included.
     *
     * @throws IllegalArgumentException naming the file (and the override) for whatever is wrong
     */
    static <T> Configured<T> configured(Path file, String name, Map<String, String> overrides, Class<T> type,
                                        String what, ComponentRegistry registry) {
        Object component;
        String effective;
        try (ConfigurationManager manager = ConfigFiles.open(file, overrides)) {
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
                throw new IllegalArgumentException("config " + file + ": "
                        + ConfigFiles.overrideOf(e, overrides).map(o -> o + ": ").orElse("") + messages(e), e);
            }
            if (!type.isInstance(component)) {
                throw new IllegalArgumentException("config " + file + ": component '" + name + "' is a "
                        + component.getClass().getName() + ", not " + what);
            }
            effective = EffectiveConfiguration.xml(manager, name, component, file + (overrides.isEmpty() ? ""
                    : " with " + String.join(", ", Configured.overrideList(overrides))));
        }
        return new Configured<>(type.cast(component), file, overrides, effective);
    }

    /**
     * A component configured from a file: what a training command trains with, and what it records
     * of where it came from.
     *
     * @param component the configured component
     * @param file      the configuration file
     * @param overrides the {@code --set} overrides applied to it, in order
     * @param effective the effective configuration of the component, as {@link EffectiveConfiguration} writes
     *                  it: what {@code --dry-run} prints
     * @param <T>       the component's type
     */
    record Configured<T>(T component, Path file, Map<String, String> overrides, String effective) {

        /** The provenance entry of the configuration file's path. */
        static final String FILE = "config.file";
        /** The provenance entry of the overrides, {@code COMPONENT.PROPERTY=VALUE} each. */
        static final String OVERRIDES = "config.overrides";
        /** The provenance entry of the effective configuration (of text models: a Tribuo trainer's own holds it). */
        static final String EFFECTIVE = "config.effective";

        /** A text model's provenance entries: the file, the overrides (one a line) and the effective configuration. */
        Map<String, String> provenance() {
            return Map.of(FILE, file.toString(), OVERRIDES, String.join("\n", overrideList(overrides)),
                    EFFECTIVE, effective);
        }

        /**
         * Tribuo's run provenance of a model trained with the component: the file and the overrides (the
         * trainer's own provenance records every value it was configured with).
         */
        Map<String, Provenance> runProvenance() {
            return Map.of(FILE, new StringProvenance(FILE, file.toString()), OVERRIDES, new ListProvenance<>(
                    overrideList(overrides).stream().map(o -> new StringProvenance(OVERRIDES, o)).toList()));
        }

        static List<String> overrideList(Map<String, String> overrides) {
            return overrides.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        }
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
