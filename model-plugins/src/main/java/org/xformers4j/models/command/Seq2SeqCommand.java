package org.xformers4j.models.command;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.models.lm.Seq2SeqModel;
import org.xformers4j.models.lm.Seq2SeqTrainer;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j seq2seq train --config FILE --pairs TSV [--trainer NAME] [--save MODEL]
 * [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json]}: builds the {@link Seq2SeqTrainer} named
 * {@code NAME} (default {@code trainer}) from the OLCUT configuration file with the {@code --set}
 * overrides, as {@code lm train} does, and trains an encoder-decoder model (Vaswani et al., 2017,
 * "Attention Is All You Need") on the UTF-8 file of {@code source<TAB>target} lines ({@link Seq2SeqTrainer#readPairs}).
 * It prints, shows and writes what {@code lm train} does ({@link TrainingReport}, {@link TrainingOutputs}),
 * the bits per character being per
 * target character of the held-out pairs, and saves the model directory with {@code --save}, which
 * {@code xformers4j generate} loads, the prompt being the source.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=seq2seq",
        HostCommand.SUMMARY_PROPERTY + "=Trains a sequence-to-sequence model configured in an OLCUT XML file on "
                + "source-target pairs (seq2seq train)"})
public final class Seq2SeqCommand extends Command {

    private static final CommandLine.Syntax SYNTAX = TrainingOutputs.options(CommandLine.syntax()
            .values("--config", "--pairs", "--trainer", "--save").flags("--json", "--dry-run")
            .repeatable("--set"));

    private final ComponentRegistry registry;

    @Activate
    public Seq2SeqCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || !args[0].equals("train")) {
            return usageError(err, "seq2seq: expected the subcommand 'train'"
                    + (args.length == 0 ? "" : ", got '" + args[0] + "'"));
        }
        CommandLine line;
        Path config;
        Path pairsFile;
        Path save;
        Map<String, String> overrides;
        TrainingOutputs outputs;
        try {
            line = SYNTAX.parse(Arrays.asList(args).subList(1, args.length));
            config = line.path("--config");
            pairsFile = line.path("--pairs");
            save = line.path("--save", null);
            overrides = line.pairs("--set");
        } catch (UsageException e) {
            return usageError(err, "seq2seq train: " + e.getMessage());
        }
        TrainingReport report = new TrainingReport(out, line.flag("--json"));
        Configured<Seq2SeqTrainer> trainer;
        List<Seq2SeqTrainer.Pair> pairs;
        try {
            outputs = TrainingOutputs.open(line, err, "tokens", false, pairsFile.getFileName().toString());
            checkSaveDirectory(save);
            trainer = configured(config, line.value("--trainer", "trainer"), overrides,
                    Seq2SeqTrainer.class, "a Seq2SeqTrainer", registry);
            if (line.flag("--dry-run")) {
                out.print(trainer.effective());
                return OK;
            }
            pairs = Seq2SeqTrainer.readPairs(pairsFile);
        } catch (UsageException e) {
            return usageError(err, "seq2seq train: " + e.getMessage());
        } catch (RuntimeException e) {
            return failure(err, "seq2seq train: " + messages(e));
        }
        report.say(String.format(Locale.ROOT, "training a sequence-to-sequence model on %s (%,d pairs)", pairsFile,
                pairs.size()));
        Seq2SeqTrainer.Result<Seq2SeqModel> result;
        try (TrainingOutputs.Watch watch = outputs.watch()) {
            result = trainer.component().train(pairs, outputs.listeners(report), trainer.provenance());
        } catch (RuntimeException e) {
            return failure(err, "seq2seq train: training failed: " + messages(e));
        }
        report.summary(result.curve());
        int saved = saveIfAsked("seq2seq train", save, result.model(), report, err);
        return saved == OK ? plotIfAsked("seq2seq train", outputs, "seq2seq train: " + pairsFile.getFileName(),
                report::say, err) : saved;
    }

    @Override
    protected String usage() {
        return "usage: xformers4j seq2seq train --config FILE --pairs TSV [--trainer NAME] [--save MODEL]"
                + " [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json] " + TrainingOutputs.USAGE;
    }
}
