package org.xformers4j.models.command;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.decoding.DecodingCapabilities;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.component.decoding.LogitsProcessor;
import org.xformers4j.component.decoding.StoppingCriterion;
import org.xformers4j.decoding.processing.MaxTime;
import org.xformers4j.decoding.processing.NoRepeatNGram;
import org.xformers4j.decoding.processing.RepetitionPenalty;
import org.xformers4j.decoding.processing.StopSequences;
import org.xformers4j.models.lm.LanguageModel;
import org.xformers4j.models.lm.TextGenerator;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j generate --model MODEL --prompt TEXT --strategy NAME [--option key=value …]
 * [--max-new-tokens N] [--num-return-sequences N] [--seed N] [--stop TEXT …]
 * [--repetition-penalty X] [--no-repeat-ngram N] [--max-time SECONDS] [--json]}:
 * loads a model directory saved by {@code lm train} (or a sequence-to-sequence model, whose prompt is
 * the source), creates the registered decoding strategy {@code NAME} with the options, and prints
 * each generated sequence, best first, with its score; a language model's single continuation by a
 * strategy that keeps one hypothesis (greedy, sample, contrastive) is printed token by token as it is
 * produced (the {@link org.xformers4j.component.decoding.TokenListener}). With {@code --json} it prints
 * {@code {"strategy":…, "sequences":[{"text":…, "score":…}, …]}}, the text without the prompt.
 * Stop strings are turned into token sequences with the model's tokenizer.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=generate",
        HostCommand.SUMMARY_PROPERTY + "=Generates text from a saved language model with a registered decoding strategy"})
public final class GenerateCommand extends Command {

    private static final int DEFAULT_MAX_NEW_TOKENS = 100;

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--model", "--prompt", "--strategy", "--max-new-tokens", "--num-return-sequences", "--seed",
                    "--repetition-penalty", "--no-repeat-ngram", "--max-time")
            .flags("--json").repeatable("--option", "--stop");

    private final ComponentRegistry registry;

    @Activate
    public GenerateCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path modelDirectory;
        String prompt;
        String strategyName;
        Map<String, String> options;
        GenerationConfig limits;
        try {
            line = SYNTAX.parse(args);
            modelDirectory = line.path("--model");
            prompt = line.required("--prompt");
            strategyName = line.required("--strategy");
            options = line.pairs("--option");
            limits = limits(line);
        } catch (IllegalArgumentException e) {
            // the parser's UsageException, and the checks of the logits processors and GenerationConfig
            return usageError(err, "generate: " + e.getMessage());
        }
        boolean json = line.flag("--json");
        List<TextGenerator.Generation> generations;
        TextStream stream = null;
        try {
            TextGenerator model = TextGenerator.load(modelDirectory, registry);
            DecodingStrategy strategy = registry.create(DecodingStrategy.class, strategyName, options);
            GenerationConfig.Builder config = limits.toBuilder();
            List<String> stops = line.all("--stop");
            if (!stops.isEmpty()) {
                List<StoppingCriterion> criteria = new ArrayList<>(limits.stoppingCriteria());
                criteria.add(new StopSequences(stops.stream().map(t -> model.tokenizer().encode(t)).toList()));
                config.stoppingCriteria(criteria);
            }
            boolean oneHypothesis = !ComponentDescriptor.of(strategy.getClass())
                    .capabilities(DecodingCapabilities.class).multipleHypotheses();
            if (!json && oneHypothesis && limits.numReturnSequences() == 1 && model instanceof LanguageModel) {
                stream = new TextStream(model.tokenizer(), out);
                out.print(prompt);
                out.flush();
                config.listener(stream);
            }
            generations = model.generate(prompt, strategy, config.build());
        } catch (RuntimeException e) {
            if (stream != null) {
                out.println();
            }
            return failure(err, "generate: " + messages(e));
        }
        if (json) {
            out.println(json(strategyName, generations));
        } else if (stream != null) {
            stream.finish();
            out.printf(Locale.ROOT, "%n[1] score %.4f%n", generations.get(0).score());
        } else {
            for (int i = 0; i < generations.size(); i++) {
                TextGenerator.Generation g = generations.get(i);
                out.printf(Locale.ROOT, "[%d] score %.4f%n%s%s%n", i + 1, g.score(), prompt, g.text());
            }
        }
        return OK;
    }

    /**
     * The length, seed, logits processors and time limit of the command line, checked before
     * anything is loaded so that a malformed or out-of-range value is a usage error; stop strings
     * need the model's tokenizer and are added later.
     */
    private static GenerationConfig limits(CommandLine line) {
        List<LogitsProcessor> processors = new ArrayList<>();
        if (line.has("--repetition-penalty")) {
            processors.add(new RepetitionPenalty(finiteFloat(line, "--repetition-penalty")));
        }
        if (line.has("--no-repeat-ngram")) {
            processors.add(new NoRepeatNGram(line.integer("--no-repeat-ngram", 0)));
        }
        List<StoppingCriterion> criteria = new ArrayList<>();
        if (line.has("--max-time")) {
            double seconds = finiteFloat(line, "--max-time");
            if (!(seconds > 0)) {
                throw new UsageException("--max-time must be a number of seconds > 0, got '"
                        + line.required("--max-time") + "'");
            }
            criteria.add(new MaxTime(Duration.ofNanos((long) Math.ceil(seconds * 1e9))));
        }
        return GenerationConfig.builder()
                .maxNewTokens(line.integer("--max-new-tokens", DEFAULT_MAX_NEW_TOKENS))
                .numReturnSequences(line.integer("--num-return-sequences", 1))
                .seed(line.integer("--seed", 0))
                .logitsProcessors(processors)
                .stoppingCriteria(criteria)
                .build();
    }

    /** The value of {@code option}, which is given, as a number finite in float32 (1e39 is not). */
    private static float finiteFloat(CommandLine line, String option) {
        float number = (float) line.number(option, Double.NaN);
        if (!Float.isFinite(number)) {
            throw new UsageException(option + " must be a finite number, got '" + line.required(option) + "'");
        }
        return number;
    }

    /** {@code {"strategy":…, "sequences":[{"text":…, "score":…}, …]}}, escaped by Jackson. */
    static String json(String strategy, List<TextGenerator.Generation> generations) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = new JsonFactory().createGenerator(text)) {
            json.writeStartObject();
            json.writeStringField("strategy", strategy);
            json.writeArrayFieldStart("sequences");
            for (TextGenerator.Generation g : generations) {
                json.writeStartObject();
                json.writeStringField("text", g.text());
                json.writeNumberField("score", g.score());
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
        return "usage: xformers4j generate --model MODEL --prompt TEXT --strategy NAME [--option key=value ...]"
                + " [--max-new-tokens N] [--num-return-sequences N] [--seed N] [--stop TEXT ...]"
                + " [--repetition-penalty X] [--no-repeat-ngram N] [--max-time SECONDS] [--json]";
    }
}
