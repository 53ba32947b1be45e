package org.xformers4j.registry.command;

import java.io.PrintStream;
import java.util.List;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j info [--json]}: the compute backends (available or not, and why) and the
 * components of each kind with their summaries; with {@code --json}, one JSON object (see
 * {@link InfoJson}).
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=info",
        HostCommand.SUMMARY_PROPERTY + "=Lists the compute backends and the components of each kind"})
public final class InfoCommand extends HostCommand {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().flags("--json");

    private final ComponentRegistry registry;

    @Activate
    public InfoCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        boolean json;
        try {
            json = SYNTAX.parse(args).flag("--json");
        } catch (UsageException e) {
            return usageError(err, "info: " + e.getMessage());
        }
        List<BackendStatus> backends = registry.backends().stream().map(BackendStatus::of).toList();
        List<ComponentDescriptor> components = registry.providers().stream().map(ComponentProvider::descriptor).toList();
        out.print(json ? InfoJson.render(backends, components) + "\n" : InfoText.render(backends, components));
        return OK;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j info [--json]";
    }
}
