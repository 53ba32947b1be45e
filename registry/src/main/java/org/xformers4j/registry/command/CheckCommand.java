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
import org.xformers4j.component.conformance.PositionalConformance;
import org.xformers4j.registry.ComponentRegistry;

/**
 * {@code xformers4j check [NAME…] [--json]}: runs the conformance suites on the installed attention
 * components ({@link AttentionConformance}) and positional components ({@link PositionalConformance},
 * which pairs each encoding with every installed attention component), or on the named ones, and
 * prints one line per component and check (see {@link CheckText}); with {@code --json}, one object
 * {@code {"results":[{"component","check","passed","detail"}…]}} (see {@link CheckJson}). Without
 * names the attention components come first, then the positional ones; named components are
 * checked in the order given. The exit code is 1 when a check fails or a name is unknown. Decoding
 * components have no checks yet: a named one is reported as such on the error stream and skipped.
 */
@Component(service = Function.class, property = {
        Command.NAME_PROPERTY + "=check",
        Command.SUMMARY_PROPERTY + "=Runs the conformance suites on the installed attention and positional components"})
public final class CheckCommand extends Command {

    private final ComponentRegistry registry;

    @Activate
    public CheckCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    int run(String[] args, PrintStream out, PrintStream err) {
        boolean json = false;
        List<String> names = new ArrayList<>();
        for (String arg : args) {
            if (arg.equals("--json")) {
                json = true;
            } else if (arg.startsWith("-")) {
                return usageError(err, "check: unexpected argument '" + arg + "'");
            } else {
                names.add(arg);
            }
        }
        List<ComponentProvider<?>> subjects = new ArrayList<>();
        if (names.isEmpty()) {
            subjects.addAll(registry.providers(ComponentKind.ATTENTION));
            subjects.addAll(registry.providers(ComponentKind.POSITIONAL));
        }
        for (String name : names) {
            ComponentProvider<?> provider;
            try {
                provider = registry.find(name);
            } catch (IllegalArgumentException e) {
                err.println("check: " + e.getMessage());
                return FAILURE;
            }
            if (provider.descriptor().kind() == ComponentKind.DECODING) {
                err.println("check: " + name + " is a " + provider.descriptor().kind().label()
                        + " component; the suite has no checks for that kind yet");
            } else {
                subjects.add(provider);
            }
        }
        List<ComponentProvider<?>> mechanisms = registry.providers(ComponentKind.ATTENTION);
        List<CheckResult> results = new ArrayList<>();
        for (ComponentProvider<?> provider : subjects) {
            results.addAll(provider.descriptor().kind() == ComponentKind.ATTENTION ? AttentionConformance.run(provider)
                    : PositionalConformance.run(provider, mechanisms));
        }
        out.print(json ? CheckJson.render(results) + "\n" : CheckText.render(results));
        return results.stream().allMatch(CheckResult::passed) ? OK : FAILURE;
    }

    @Override
    String usage() {
        return "usage: xformers4j check [NAME...] [--json]";
    }
}
