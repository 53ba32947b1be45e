package org.xformers4j.registry.command;

import java.io.PrintStream;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j describe NAME [--json]}: one component's full descriptor (kind, summary,
 * reference, implementation class, hyperparameters, capabilities). An unknown name fails with the
 * closest registered names.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=describe",
        HostCommand.SUMMARY_PROPERTY + "=Shows one component's hyperparameters and capabilities"})
public final class DescribeCommand extends HostCommand {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().flags("--json").operands(1);

    private final ComponentRegistry registry;

    @Activate
    public DescribeCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
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
        ComponentDescriptor descriptor;
        try {
            descriptor = registry.find(line.operands().get(0)).descriptor();
        } catch (IllegalArgumentException e) {
            err.println("describe: " + e.getMessage());
            return FAILURE;
        }
        out.print(json ? JsonOutput.render(g -> DescriptorJson.writeFull(g, descriptor)) + "\n"
                : DescriptorText.render(descriptor));
        return OK;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j describe NAME [--json]";
    }
}
