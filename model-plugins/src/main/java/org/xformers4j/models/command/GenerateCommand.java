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
import org.xformers4j.models.lm.Seq2SeqModel;
import org.xformers4j.models.lm.TextGenerator;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.HostCommand;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j generate --model MODEL (--prompt TEXT | --input FILE) [--strategy NAME] [--option key=value …]
 * [--max-new-tokens N] [--num-return-sequences N] [--seed N] [--stop TEXT …]
 * [--repetition-penalty X] [--no-repeat-ngram N] [--max-time SECONDS] [--json]}:
 * loads a model directory saved by {@code lm train} or {@code seq2seq train}, creates the registered
 * decoding strategy {@code NAME} (greedy by default) with the options, and generates for the prompt,
 * or for each non-empty line of {@code FILE} ({@link PromptFile}): a language model continues it, a
 * sequence-to-sequence model writes the target for it as source.
 *
 * <p>Every strategy prints the same layout: per prompt (under a line {@code prompt (line N): TEXT}
 * with {@code --input}, blocks separated by an empty line), each sequence best first as
 * {@code [i] TEXT} (a language model's prompt and continuation; a sequence-to-sequence model's
 * output alone), then {@code score (WHAT): X}, where WHAT is the strategy's
 * {@link DecodingStrategy#scoreDescription()}, and, when the score is something else than the sum
 * of log-probabilities (beam search's length normalisation), {@code sum of log-probabilities: Y}. A
 * language model's single continuation by a strategy that keeps one hypothesis (greedy, sample,
 * contrastive) appears token by token as it is produced. Text is decoded as whole UTF-8 characters
 * only ({@link TextStream}); bytes that do not form one, such as a character cut by the token limit,
 * show as U+FFFD. With {@code --json} each prompt gives one line,
 * {@code {"prompt":…, ["line":N,] "strategy":…, "score_is":WHAT, "sequences":[{"text":…, "score":X,
 * "log_probability":Y}, …]}}, the text without the prompt. Prompts longer than the model's context
 * get one warning on stderr at the end, with their count and the longest. Stop strings are turned
 * into token sequences with the model's tokenizer.
 */
@Component(service = Function.class, property = {
        HostCommand.NAME_PROPERTY + "=generate",
        HostCommand.SUMMARY_PROPERTY + "=Generates text from a saved language or sequence-to-sequence model with a "
                + "registered decoding strategy"})
public final class GenerateCommand extends Command {

    private static final int DEFAULT_MAX_NEW_TOKENS = 100;

    private static final String DEFAULT_STRATEGY = "greedy";

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--model", "--prompt", "--input", "--strategy", "--max-new-tokens", "--num-return-sequences",
                    "--seed", "--repetition-penalty", "--no-repeat-ngram", "--max-time")
            .flags("--json").repeatable("--option", "--stop");

    private final ComponentRegistry registry;

    @Activate
    public GenerateCommand(@Reference(name = "registry") ComponentRegistry registry) {
        this.registry = registry;
    }

    /** What one generation run is made of, once the command line and the model are read. */
    private record Run(TextGenerator model, DecodingStrategy strategy, String strategyName, GenerationConfig config,
                       boolean json, PrintStream out) {
    }

    /** Counts the prompts longer than the model's context, for the one warning at the end. */
    private static final class LongPrompts {
        private int count;
        private int longest;
        private int prompts;

        void add(TextGenerator model, String prompt) {
            prompts++;
            int tokens = model.inputTokens(prompt);
            if (tokens > model.contextLength()) {
                count++;
                longest = Math.max(longest, tokens);
            }
        }

        void warn(TextGenerator model, PrintStream err) {
            if (count > 0) {
                err.printf(Locale.ROOT, "generate: warning: %,d of %,d prompts are longer than the model's context of "
                        + "%d tokens (the longest has %d); the model read only %s%n", count, prompts,
                        model.contextLength(), longest, model instanceof Seq2SeqModel
                                ? "the first " + (model.contextLength() - 1) + " tokens and " + Seq2SeqModel.END_TOKEN
                                : "the last " + model.contextLength() + " tokens");
            }
        }
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine line;
        Path modelDirectory;
        String prompt;
        Path input;
        String strategyName;
        Map<String, String> options;
        GenerationConfig limits;
        try {
            line = SYNTAX.parse(args);
            modelDirectory = line.path("--model");
            if (line.has("--prompt") == line.has("--input")) {
                throw new UsageException("give either --prompt TEXT or --input FILE (one prompt per line)");
            }
            prompt = line.value("--prompt", null);
            input = line.path("--input", null);
            strategyName = line.value("--strategy", DEFAULT_STRATEGY);
            options = line.pairs("--option");
            limits = limits(line);
        } catch (IllegalArgumentException e) {
            // the parser's UsageException, and the checks of the logits processors and GenerationConfig
            return usageError(err, "generate: " + e.getMessage());
        }
        Run run;
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
            run = new Run(model, strategy, strategyName, config.build(), line.flag("--json"), out);
        } catch (RuntimeException e) {
            return failure(err, "generate: " + messages(e));
        }
        LongPrompts longPrompts = new LongPrompts();
        try {
            if (input == null) {
                longPrompts.add(run.model(), prompt);
                generate(run, prompt, 0);
            } else {
                try (PromptFile prompts = PromptFile.open(input)) {
                    boolean first = true;
                    for (PromptFile.Prompt p = prompts.next(); p != null; p = prompts.next(), first = false) {
                        if (!first && !run.json()) {
                            out.println();
                        }
                        longPrompts.add(run.model(), p.text());
                        generate(run, p.text(), p.line());
                    }
                }
            }
        } catch (RuntimeException e) {
            return failure(err, "generate: " + messages(e));
        } finally {
            longPrompts.warn(run.model(), err);
        }
        return OK;
    }

    /**
     * Generates for one prompt and prints its sequences in the layout of the class comment.
     *
     * @param line the prompt's line in the {@code --input} file, or 0 for {@code --prompt}
     */
    private static void generate(Run run, String prompt, int line) {
        PrintStream out = run.out();
        String shown = run.model() instanceof LanguageModel ? prompt : "";
        boolean oneHypothesis = !ComponentDescriptor.of(run.strategy().getClass())
                .capabilities(DecodingCapabilities.class).multipleHypotheses();
        if (!run.json() && line > 0) {
            out.println("prompt (line " + line + "): " + prompt);
        }
        TextStream stream = null;
        GenerationConfig config = run.config();
        if (!run.json() && oneHypothesis && config.numReturnSequences() == 1 && run.model() instanceof LanguageModel) {
            stream = new TextStream(run.model().tokenizer(), out);
            out.print("[1] " + shown);
            out.flush();
            config = config.toBuilder().listener(stream).build();
        }
        List<TextGenerator.Generation> generations;
        try {
            generations = run.model().generate(prompt, run.strategy(), config);
        } catch (RuntimeException e) {
            if (stream != null) {
                out.println();
            }
            throw line > 0 ? new IllegalArgumentException("--input line " + line + ": " + messages(e), e) : e;
        }
        String scoreIs = run.strategy().scoreDescription();
        if (run.json()) {
            out.println(json(prompt, line, run.strategyName(), scoreIs, generations));
            return;
        }
        for (int i = 0; i < generations.size(); i++) {
            TextGenerator.Generation g = generations.get(i);
            if (stream != null) {
                stream.finish();
                out.println();
            } else {
                out.printf(Locale.ROOT, "[%d] %s%s%n", i + 1, shown, g.text());
            }
            out.printf(Locale.ROOT, "    score (%s): %.4f%n", scoreIs, g.score());
            if (!scoreIs.equals(DecodingStrategy.SUM_OF_LOG_PROBABILITIES)) {
                out.printf(Locale.ROOT, "    %s: %.4f%n", DecodingStrategy.SUM_OF_LOG_PROBABILITIES,
                        g.logProbability());
            }
        }
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

    /**
     * {@code {"prompt":…, ["line":N,] "strategy":…, "score_is":…, "sequences":[{"text":…, "score":…,
     * "log_probability":…}, …]}} on one line, escaped by Jackson; {@code line} 0 (a {@code --prompt}) is left out.
     */
    static String json(String prompt, int line, String strategy, String scoreIs,
                       List<TextGenerator.Generation> generations) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = new JsonFactory().createGenerator(text)) {
            json.writeStartObject();
            json.writeStringField("prompt", prompt);
            if (line > 0) {
                json.writeNumberField("line", line);
            }
            json.writeStringField("strategy", strategy);
            json.writeStringField("score_is", scoreIs);
            json.writeArrayFieldStart("sequences");
            for (TextGenerator.Generation g : generations) {
                json.writeStartObject();
                json.writeStringField("text", g.text());
                json.writeNumberField("score", g.score());
                json.writeNumberField("log_probability", g.logProbability());
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
        return "usage: xformers4j generate --model MODEL (--prompt TEXT | --input FILE) [--strategy NAME (greedy)]"
                + " [--option key=value ...]"
                + " [--max-new-tokens N] [--num-return-sequences N] [--seed N] [--stop TEXT ...]"
                + " [--repetition-penalty X] [--no-repeat-ngram N] [--max-time SECONDS] [--json]";
    }
}
