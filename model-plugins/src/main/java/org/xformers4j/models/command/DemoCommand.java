package org.xformers4j.models.command;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.stream.Stream;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j demo [--examples DIR]}: the tour of the product on the shipped examples, saying
 * what it does as it goes: the installed components and backends ({@code info}), the digits
 * classifier of {@code digits-classifier.xml} trained and evaluated ({@code train}), a character
 * language model trained on the Moby-Dick extract with the {@code demo-trainer} of
 * {@code char-lm.xml} ({@code lm train}, at most 5 minutes, printing validation bits per character),
 * and one prompt continued by greedy, beam and nucleus sampling ({@code generate}). Each step runs
 * the same command a user would; the demo stops at the first that fails.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=demo",
        HostCommand.SUMMARY_PROPERTY + "=Tours the product: components, a classifier, a language model and decoding strategies"})
public final class DemoCommand extends Command {

    /** The prompt every strategy continues. */
    static final String PROMPT = "The whale ";

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax().values("--examples");

    private final ComponentRegistry registry;
    private final Function<String[], Integer> info;

    @Activate
    public DemoCommand(@Reference(name = "registry") ComponentRegistry registry,
                       @Reference(name = "info", target = "(" + HostCommand.NAME_PROPERTY + "=info)")
                       Function<String[], Integer> info) {
        this.registry = registry;
        this.info = info;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Path examples;
        try {
            examples = SYNTAX.parse(args).path("--examples", Path.of("examples"));
        } catch (UsageException e) {
            return usageError(err, "demo: " + e.getMessage());
        }
        if (!Files.isRegularFile(examples.resolve("char-lm.xml"))) {
            return failure(err, "demo: " + examples + " does not hold the examples (char-lm.xml); run the demo from the "
                    + "repository root or give --examples DIR");
        }
        long start = System.nanoTime();
        Path model;
        try {
            model = Files.createTempDirectory("xformers4j-demo-lm");
        } catch (IOException e) {
            return failure(err, "demo: cannot create a temporary directory: " + e.getMessage());
        }
        try {
            int status = step(out, 1, "the embedded OSGi host is up with every bundle installed; its components and compute backends (xformers4j info)",
                    () -> info instanceof HostCommand command ? command.run(new String[0], out, err)
                            : info.apply(new String[0]));
            if (status == OK) {
                status = step(out, 2, "training the digits classifier of digits-classifier.xml on data/digits.csv and "
                        + "evaluating it on a held-out 20% (xformers4j train)", () -> new TrainCommand(registry).run(
                        new String[] {"--config", examples.resolve("digits-classifier.xml").toString(),
                                "--train", examples.resolve("data/digits.csv").toString()}, out, err));
            }
            if (status == OK) {
                status = step(out, 3, "training a character-level language model on data/moby-dick.txt with "
                        + "demo-trainer of char-lm.xml, at most 5 minutes; the last 10% of the text is held out "
                        + "(xformers4j lm train)", () -> new LmCommand(registry).run(
                        new String[] {"train", "--config", examples.resolve("char-lm.xml").toString(),
                                "--trainer", "demo-trainer", "--text", examples.resolve("data/moby-dick.txt").toString(),
                                "--save", model.toString()}, out, err));
            }
            List<String[]> strategies = List.of(new String[] {"greedy"},
                    new String[] {"beam", "--option", "numBeams=4"},
                    new String[] {"sample", "--option", "topP=0.9", "--seed", "1"});
            for (int i = 0; i < strategies.size() && status == OK; i++) {
                String[] strategy = strategies.get(i);
                String[] command = Stream.concat(Stream.of("--model", model.toString(), "--prompt", PROMPT,
                        "--max-new-tokens", "120", "--strategy"), Stream.of(strategy)).toArray(String[]::new);
                status = step(out, 4 + i, "continuing \"" + PROMPT + "\" with " + String.join(" ", strategy)
                        + " (xformers4j generate)", () -> new GenerateCommand(registry).run(command, out, err));
            }
            if (status == OK) {
                out.printf(Locale.ROOT, "%ndemo finished in %.1f s%n", (System.nanoTime() - start) / 1e9);
            }
            return status;
        } finally {
            delete(model);
        }
    }

    /** Announces and runs one step, returning its exit code. */
    private static int step(PrintStream out, int number, String what, IntSupplier command) {
        out.printf(Locale.ROOT, "%n==> %d/6 %s%n", number, what);
        out.flush();
        return command.getAsInt();
    }

    private static void delete(Path directory) {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("demo: cannot delete the temporary model " + directory, e);
        }
    }

    @Override
    protected String usage() {
        return "usage: xformers4j demo [--examples DIR]";
    }
}
