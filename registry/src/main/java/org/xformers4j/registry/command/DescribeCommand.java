package org.xformers4j.registry.command;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableCatalog;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;
import org.xformers4j.registry.internal.Suggestions;

/**
 * {@code xformers4j describe NAME [--json]}: one component's full descriptor (kind, summary,
 * reference, implementation class, hyperparameters, capabilities), or the properties of a
 * configurable class that a configuration names by type (a trainer, input encoder, output head, the
 * architecture, the training settings), named by its simple or fully qualified class name. Those
 * classes come from the {@link ConfigurableCatalog} services bundles publish (the registry bundle
 * does not see them). An unknown name fails with the closest names of both.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=describe",
        HostCommand.SUMMARY_PROPERTY + "=Shows a component's hyperparameters and capabilities, or the properties of a "
                + "trainer, encoder or head"})
public final class DescribeCommand extends HostCommand {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().flags("--json").operands(1);

    private final ComponentRegistry registry;
    private final List<ConfigurableCatalog> catalogs = new CopyOnWriteArrayList<>();

    @Activate
    public DescribeCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    /** Describes the configurable classes of {@code catalog} from now on. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindCatalog(ConfigurableCatalog catalog) {
        catalogs.add(catalog);
    }

    void unbindCatalog(ConfigurableCatalog catalog) {
        catalogs.remove(catalog);
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        try {
            line = SYNTAX.parse(args);
        } catch (UsageException e) {
            return usageError(err, "describe: " + e.getMessage());
        }
        boolean json = line.flag("--json");
        if (line.operands().isEmpty()) {
            return usageError(err, "describe: which component? Name one; `xformers4j info` lists them.");
        }
        String name = line.operands().get(0);
        List<ConfigurableDescriptor> configurables = catalogs.stream().flatMap(c -> c.configurables().stream())
                .toList();
        Optional<ConfigurableDescriptor> configurable = configurables.stream()
                .filter(d -> d.name().equals(name) || d.implementation().equals(name)).findFirst();
        if (configurable.isPresent()) {
            ConfigurableDescriptor d = configurable.get();
            out.print(json ? JsonOutput.render(g -> DescriptorJson.writeConfigurable(g, d)) + "\n"
                    : DescriptorText.render(d));
            return OK;
        }
        Optional<ComponentDescriptor> component = registry.providers().stream().map(ComponentProvider::descriptor)
                .filter(d -> d.name().equals(name)).findFirst();
        if (component.isEmpty()) {
            Set<String> names = new TreeSet<>();
            registry.providers().forEach(p -> names.add(p.descriptor().name()));
            configurables.forEach(d -> names.add(d.name()));
            err.println("describe: " + Suggestions.unknownName("component", name, names));
            return FAILURE;
        }
        ComponentDescriptor d = component.get();
        out.print(json ? JsonOutput.render(g -> DescriptorJson.writeFull(g, d)) + "\n" : DescriptorText.render(d));
        return OK;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j describe NAME [--json]";
    }
}
