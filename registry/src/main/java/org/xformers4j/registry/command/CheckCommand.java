package org.xformers4j.registry.command;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.component.conformance.DecodingConformance;
import org.xformers4j.component.conformance.PositionalConformance;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j check [NAME…] [--json]}: runs the conformance suites on the installed attention
 * components ({@link AttentionConformance}), positional components ({@link PositionalConformance},
 * which pairs each encoding with every installed attention component) and decoding strategies
 * ({@link DecodingConformance}, over its own next-token table, so no trained model is needed), or
 * on the named ones, and prints one line per component and check (see {@link CheckText}); with
 * {@code --json}, one object {@code {"results":[{"component","check","passed","detail"}…]}} (see
 * {@link CheckJson}). Without names the attention components come first, then the positional
 * ones, then the decoding strategies; named components are checked in the order given. The exit
 * code is 1 when a check fails or a name is unknown.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=check",
        HostCommand.SUMMARY_PROPERTY + "=Runs the conformance suites on the installed attention, positional and decoding components"})
public final class CheckCommand extends HostCommand {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().flags("--json").operands(Integer.MAX_VALUE);

    private final ComponentRegistry registry;

    @Activate
    public CheckCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        try {
            line = SYNTAX.parse(args);
        } catch (UsageException e) {
            return usageError(err, "check: " + e.getMessage());
        }
        boolean json = line.flag("--json");
        List<String> names = line.operands();
        List<ComponentProvider<?>> subjects = new ArrayList<>();
        if (names.isEmpty()) {
            subjects.addAll(registry.providers(ComponentKind.ATTENTION));
            subjects.addAll(registry.providers(ComponentKind.POSITIONAL));
            subjects.addAll(registry.providers(ComponentKind.DECODING));
        }
        for (String name : names) {
            try {
                subjects.add(registry.find(name));
            } catch (IllegalArgumentException e) {
                err.println("check: " + e.getMessage());
                return FAILURE;
            }
        }
        List<ComponentProvider<?>> mechanisms = registry.providers(ComponentKind.ATTENTION);
        List<CheckResult> results = new ArrayList<>();
        for (ComponentProvider<?> provider : subjects) {
            results.addAll(switch (provider.descriptor().kind()) {
                case ATTENTION -> AttentionConformance.run(provider);
                case POSITIONAL -> PositionalConformance.run(provider, mechanisms);
                case DECODING -> DecodingConformance.run(provider);
            });
        }
        out.print(json ? CheckJson.render(results) + "\n" : CheckText.render(results));
        return results.stream().allMatch(CheckResult::passed) ? OK : FAILURE;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j check [NAME...] [--json]";
    }
}
