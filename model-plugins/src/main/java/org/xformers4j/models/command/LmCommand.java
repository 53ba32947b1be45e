package org.xformers4j.models.command;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.models.lm.LanguageModel;
import org.xformers4j.models.lm.LanguageModelTrainer;
import org.xformers4j.models.text.Utf8;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j lm train --config FILE --text FILE [--trainer NAME] [--save MODEL]
 * [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json]}: builds the {@link LanguageModelTrainer}
 * named {@code NAME} (default {@code trainer}) from the OLCUT configuration file with the {@code --set}
 * overrides ({@link Command#configured}; {@code --dry-run} prints the effective configuration instead of
 * training, which the saved model's provenance records), trains a language model on the UTF-8 text
 * file, printing one line per evaluation (step, training loss, validation loss and bits per character, tokens per second), and
 * saves the model directory with {@code --save} for {@code xformers4j generate}. With {@code --json}
 * it prints only {@code {"steps":…, "validation_loss":…, "validation_bpc":…, "train_seconds":…,
 * "curve":[{"step":…, "loss":…, "validation_loss":…, "validation_bpc":…}, …]}}. Progress goes to
 * standard error, and {@code --metrics FILE} and {@code --plot FILE.png} write the run's metrics and
 * curves ({@link TrainingOutputs}).
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=lm",
        HostCommand.SUMMARY_PROPERTY + "=Trains a language model configured in an OLCUT XML file on a text file (lm train)"})
public final class LmCommand extends Command {

    private static final CommandLine.Syntax SYNTAX = TrainingOutputs.options(CommandLine.syntax()
            .values("--config", "--text", "--trainer", "--save").flags("--json", "--dry-run")
            .repeatable("--set"));

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
        CommandLine line;
        Path config;
        Path textFile;
        Path save;
        Map<String, String> overrides;
        TrainingOutputs outputs;
        try {
            line = SYNTAX.parse(Arrays.asList(args).subList(1, args.length));
            config = line.path("--config");
            textFile = line.path("--text");
            save = line.path("--save", null);
            overrides = line.pairs("--set");
        } catch (UsageException e) {
            return usageError(err, "lm train: " + e.getMessage());
        }
        TrainingReport report = new TrainingReport(out, line.flag("--json"));
        Configured<LanguageModelTrainer> trainer;
        String text;
        try {
            outputs = TrainingOutputs.open(line, err, "tokens", false, textFile.getFileName().toString());
            checkSaveDirectory(save);
            trainer = configured(config, line.value("--trainer", "trainer"), overrides,
                    LanguageModelTrainer.class, "a LanguageModelTrainer", registry);
            if (line.flag("--dry-run")) {
                out.print(trainer.effective());
                return OK;
            }
            text = Utf8.read(textFile);
        } catch (UsageException e) {
            return usageError(err, "lm train: " + e.getMessage());
        } catch (IOException e) {
            return failure(err, "lm train: cannot read the text: " + messages(e));
        } catch (RuntimeException e) {
            return failure(err, "lm train: " + messages(e));
        }
        report.say(String.format(Locale.ROOT, "training a language model on %s (%,d characters)", textFile,
                text.codePointCount(0, text.length())));
        LanguageModelTrainer.Result<LanguageModel> result;
        try (TrainingOutputs.Watch watch = outputs.watch()) {
            result = trainer.component().train(text, outputs.listeners(report), trainer.provenance());
        } catch (RuntimeException e) {
            return failure(err, "lm train: training failed: " + messages(e));
        }
        report.summary(result.curve());
        int saved = saveIfAsked("lm train", save, result.model(), report, err);
        return saved == OK ? plotIfAsked("lm train", outputs, "lm train: " + textFile.getFileName(), report::say, err) : saved;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j lm train --config FILE --text FILE [--trainer NAME] [--save MODEL]"
                + " [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json] " + TrainingOutputs.USAGE;
    }
}
