package org.xformers4j.models.command;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.models.lm.ImageSourceEncoder;
import org.xformers4j.models.lm.Seq2SeqModel;
import org.xformers4j.models.lm.Source;
import org.xformers4j.models.lm.Seq2SeqTrainer;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j seq2seq train --config FILE --pairs FILE [--trainer NAME] [--save MODEL]
 * [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json]}: builds the {@link Seq2SeqTrainer} named
 * {@code NAME} (default {@code trainer}) from the OLCUT configuration file with the {@code --set}
 * overrides, as {@code lm train} does, and trains an encoder-decoder model (Vaswani et al., 2017,
 * "Attention Is All You Need") on the pairs of {@code --pairs}: for text sources a UTF-8 file of
 * {@code source<TAB>target} lines ({@link Seq2SeqTrainer#readPairs}), for an image-to-caption model
 * (the trainer's source an {@link ImageSourceEncoder}) a CSV file of images and captions in the
 * columns the source encoder declares ({@link CaptionCsv}). It prints, shows and writes what
 * {@code lm train} does ({@link TrainingReport}, {@link TrainingOutputs}), the bits per character being
 * per target character of the held-out pairs, and saves the model directory with {@code --save}, which
 * {@code xformers4j generate} loads, the prompt being the (text) source.
 *
 * <p>{@code xformers4j seq2seq generate --model MODEL --input FILE [--strategy NAME] [--option KEY=VALUE …]
 * [--max-new-tokens N] [--json]} writes the target of every source of {@code FILE}, a file of the kind
 * {@code --pairs} takes for that model (for images, the caption column may be left out), with the
 * registered decoding strategy {@code NAME} (greedy by default): a line {@code ROW<TAB>OUTPUT} per source,
 * with {@code <TAB>REFERENCE<TAB>right|wrong} when the file holds the target, then the exact-match
 * accuracy; with {@code --json} one object {@code {"examples":…, "exact_match":… (null without
 * references), "outputs":[{"row":…, "text":…[, "reference":…]}, …]}}.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=seq2seq",
        HostCommand.SUMMARY_PROPERTY + "=Trains a sequence-to-sequence model configured in an OLCUT XML file on "
                + "source-target pairs, text or image-caption (seq2seq train), and writes the targets of a file of "
                + "sources with a saved model (seq2seq generate)"})
public final class Seq2SeqCommand extends Command {

    private static final CommandLine.Syntax SYNTAX = TrainingOutputs.options(CommandLine.syntax()
            .values("--config", "--pairs", "--trainer", "--save").flags("--json", "--dry-run")
            .repeatable("--set"));

    private static final CommandLine.Syntax GENERATE = CommandLine.syntax()
            .values("--model", "--input", "--strategy", "--max-new-tokens").flags("--json").repeatable("--option");

    private static final int DEFAULT_MAX_NEW_TOKENS = 100;

    private final ComponentRegistry registry;

    @Activate
    public Seq2SeqCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        List<String> rest = Arrays.asList(args).subList(Math.min(1, args.length), args.length);
        if (args.length > 0 && args[0].equals("train")) {
            return train(rest, out, err);
        }
        if (args.length > 0 && args[0].equals("generate")) {
            return generate(rest, out, err);
        }
        return usageError(err, "seq2seq: expected the subcommand 'train' or 'generate'"
                + (args.length == 0 ? "" : ", got '" + args[0] + "'"));
    }

    /** {@code seq2seq train}: trains the configured model on the pairs of {@code --pairs} and saves it. */
    private int train(List<String> args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path config;
        Path pairsFile;
        Path save;
        Map<String, String> overrides;
        TrainingOutputs outputs;
        try {
            line = SYNTAX.parse(args);
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
            pairs = trainer.component().source() instanceof ImageSourceEncoder images
                    ? CaptionCsv.read(pairsFile, images, true).stream()
                            .map(image -> new Seq2SeqTrainer.Pair(image.pixels(), image.caption())).toList()
                    : Seq2SeqTrainer.readPairs(pairsFile);
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

    /** A source of {@code seq2seq generate --input}: its row (an image's CSV row, a text pair's number) and its reference. */
    private record Item(long row, Source source, String reference) {
    }

    /** {@code seq2seq generate}: the targets of the sources of {@code --input}, and their exact-match accuracy. */
    private int generate(List<String> args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path modelDirectory;
        Path input;
        GenerationConfig config;
        try {
            line = GENERATE.parse(args);
            modelDirectory = line.path("--model");
            input = line.path("--input");
            config = GenerationConfig.builder()
                    .maxNewTokens(line.integer("--max-new-tokens", DEFAULT_MAX_NEW_TOKENS)).build();
        } catch (IllegalArgumentException e) {
            return usageError(err, "seq2seq generate: " + e.getMessage());
        }
        boolean json = line.flag("--json");
        try {
            Seq2SeqModel model = Seq2SeqModel.load(modelDirectory, registry);
            DecodingStrategy strategy = registry.create(DecodingStrategy.class, line.value("--strategy", "greedy"),
                    line.pairs("--option"));
            List<Item> items = items(model, input);
            List<String> outputs = new ArrayList<>(items.size());
            int references = 0;
            int right = 0;
            for (Item item : items) {
                String text = model.generate(item.source(), strategy, config).get(0).text();
                outputs.add(text);
                if (item.reference() != null) {
                    references++;
                    right += text.equals(item.reference()) ? 1 : 0;
                    if (!json) {
                        out.println(item.row() + "\t" + text + "\t" + item.reference() + "\t"
                                + (text.equals(item.reference()) ? "right" : "wrong"));
                    }
                } else if (!json) {
                    out.println(item.row() + "\t" + text);
                }
            }
            Double accuracy = references == 0 ? null : right / (double) references;
            if (json) {
                out.println(generationJson(items, outputs, accuracy));
            } else if (accuracy != null) {
                out.printf(Locale.ROOT, "exact match: %,d of %,d (%.4f)%n", right, references, accuracy);
            }
        } catch (RuntimeException e) {
            return failure(err, "seq2seq generate: " + messages(e));
        }
        return OK;
    }

    /** The sources of {@code input}, read as {@code seq2seq train --pairs} reads the pairs of the model's kind. */
    private static List<Item> items(Seq2SeqModel model, Path input) {
        if (model.sourceEncoder() instanceof ImageSourceEncoder images) {
            return CaptionCsv.read(input, images, false).stream()
                    .map(image -> new Item(image.row(), image.pixels(), image.caption())).toList();
        }
        List<Seq2SeqTrainer.Pair> pairs = Seq2SeqTrainer.readPairs(input);
        List<Item> items = new ArrayList<>(pairs.size());
        for (int i = 0; i < pairs.size(); i++) {
            items.add(new Item(i + 1, pairs.get(i).source(), pairs.get(i).target()));
        }
        return items;
    }

    /** {@code {"examples":…, "exact_match":…, "outputs":[{"row":…, "text":…[, "reference":…]}, …]}} on one line. */
    private static String generationJson(List<Item> items, List<String> outputs, Double accuracy) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = new JsonFactory().createGenerator(text)) {
            json.writeStartObject();
            json.writeNumberField("examples", items.size());
            json.writeFieldName("exact_match");
            if (accuracy == null) {
                json.writeNull();
            } else {
                json.writeNumber(accuracy);
            }
            json.writeArrayFieldStart("outputs");
            for (int i = 0; i < items.size(); i++) {
                json.writeStartObject();
                json.writeNumberField("row", items.get(i).row());
                json.writeStringField("text", outputs.get(i));
                if (items.get(i).reference() != null) {
                    json.writeStringField("reference", items.get(i).reference());
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    @Override
    protected String usage() {
        return "usage: xformers4j seq2seq train --config FILE --pairs FILE [--trainer NAME] [--save MODEL]"
                + " [--set COMPONENT.PROPERTY=VALUE …] [--dry-run] [--json] " + TrainingOutputs.USAGE + "\n"
                + "       xformers4j seq2seq generate --model MODEL --input FILE [--strategy NAME] [--option KEY=VALUE …]"
                + " [--max-new-tokens N] [--json]";
    }
}
