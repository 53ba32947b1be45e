package org.xformers4j.registry.command;

import java.io.PrintStream;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;

/**
 * {@code xformers4j describe NAME [--json]}: one component's full descriptor (kind, summary,
 * reference, implementation class, hyperparameters, capabilities). An unknown name fails with the
 * closest registered names.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=describe",
        HostCommand.SUMMARY_PROPERTY + "=Shows one component's hyperparameters and capabilities"})
public final class DescribeCommand extends HostCommand {

    private final ComponentRegistry registry;

    @Activate
    public DescribeCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        boolean json = false;
        String name = null;
        for (String arg : args) {
            if (arg.equals("--json")) {
                json = true;
            } else if (arg.startsWith("-") || name != null) {
                return usageError(err, "describe: unexpected argument '" + arg + "'");
            } else {
                name = arg;
            }
        }
        if (name == null) {
            return usageError(err, "describe: which component? Name one; `xformers4j info` lists them.");
        }
        ComponentDescriptor descriptor;
        try {
            descriptor = registry.find(name).descriptor();
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
