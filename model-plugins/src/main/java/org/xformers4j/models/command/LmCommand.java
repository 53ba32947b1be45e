package org.xformers4j.models.command;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.models.lm.LanguageModelTrainer;
import org.xformers4j.models.lm.TrainingLoop;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;

/**
 * {@code xformers4j lm train --config FILE --text FILE [--trainer NAME] [--save MODEL] [--json]}:
 * builds the {@link LanguageModelTrainer} named {@code NAME} (default {@code trainer}) from the
 * OLCUT configuration file, trains a language model on the UTF-8 text file, printing one line per
 * evaluation (step, training loss, validation loss and bits per character, tokens per second), and
 * saves the model directory with {@code --save} for {@code xformers4j generate}. With {@code --json}
 * it prints only {@code {"steps":…, "validation_loss":…, "validation_bpc":…, "train_seconds":…,
 * "curve":[{"step":…, "loss":…, "validation_loss":…, "validation_bpc":…}, …]}}.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=lm",
        HostCommand.SUMMARY_PROPERTY + "=Trains a language model configured in an OLCUT XML file on a text file (lm train)"})
public final class LmCommand extends Command {

    private final ComponentRegistry registry;

    @Activate
    public LmCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || !args[0].equals("train")) {
            return usageError(err, "lm: expected the subcommand 'train'" + (args.length == 0 ? "" : ", got '" + args[0] + "'"));
        }
        Arguments arguments;
        try {
            arguments = Arguments.parse(Arrays.copyOfRange(args, 1, args.length),
                    Set.of("--config", "--text", "--trainer", "--save"), Set.of("--json"));
            arguments.required("--config");
            arguments.required("--text");
        } catch (IllegalArgumentException e) {
            return usageError(err, "lm train: " + e.getMessage());
        }
        boolean json = arguments.has("--json");
        LanguageModelTrainer trainer;
        String text;
        Path textFile = Path.of(arguments.required("--text"));
        try {
            trainer = configured(Path.of(arguments.required("--config")), arguments.get("--trainer", "trainer"),
                    LanguageModelTrainer.class, "a LanguageModelTrainer", registry);
            text = Files.readString(textFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return failure(err, "lm train: cannot read the text " + textFile + ": " + messages(e));
        } catch (RuntimeException e) {
            return failure(err, "lm train: " + messages(e));
        }
        if (!json) {
            out.printf(Locale.ROOT, "training a language model on %s (%,d characters)%n", textFile,
                    text.codePointCount(0, text.length()));
        }
        LanguageModelTrainer.Result result;
        try {
            result = trainer.train(text, point -> {
                if (!json) {
                    out.println(describe(point));
                }
            });
        } catch (RuntimeException e) {
            return failure(err, "lm train: training failed: " + messages(e));
        }
        TrainingLoop.Point last = result.curve().get(result.curve().size() - 1);
        if (json) {
            StringBuilder curve = new StringBuilder();
            for (TrainingLoop.Point p : result.curve()) {
                curve.append(curve.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT,
                        "{\"step\":%d, \"loss\":%.5f, \"validation_loss\":%.5f, \"validation_bpc\":%.4f, \"seconds\":%.1f}",
                        p.step(), p.trainLoss(), p.evaluation().loss(), p.evaluation().bitsPerCharacter(), p.seconds()));
            }
            out.printf(Locale.ROOT, "{\"steps\":%d, \"validation_loss\":%.5f, \"validation_bpc\":%.4f, "
                    + "\"train_seconds\":%.1f, \"curve\":[%s]}%n", last.step(), last.evaluation().loss(),
                    last.evaluation().bitsPerCharacter(), last.seconds(), curve);
        } else {
            out.printf(Locale.ROOT, "trained %d steps in %.1f s: validation bits per character %.3f%n", last.step(),
                    last.seconds(), last.evaluation().bitsPerCharacter());
        }
        if (arguments.has("--save")) {
            Path directory = Path.of(arguments.required("--save"));
            try {
                result.model().save(directory);
            } catch (RuntimeException e) {
                return failure(err, "lm train: cannot save the model to " + directory + ": " + messages(e));
            }
            if (!json) {
                out.println("model saved to " + directory);
            }
        }
        return OK;
    }

    /** One progress line: step, training loss, validation loss and bits per character, throughput, time. */
    static String describe(TrainingLoop.Point point) {
        return String.format(Locale.ROOT, "step %6d  loss %.4f  validation loss %.4f  bpc %.3f  %,8.0f tokens/s  %6.1f s",
                point.step(), point.trainLoss(), point.evaluation().loss(), point.evaluation().bitsPerCharacter(),
                point.tokensPerSecond(), point.seconds());
    }

    @Override
    protected String usage() {
        return "usage: xformers4j lm train --config FILE --text FILE [--trainer NAME] [--save MODEL] [--json]";
    }
}
