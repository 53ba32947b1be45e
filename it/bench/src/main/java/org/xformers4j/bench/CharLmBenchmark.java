package org.xformers4j.bench;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.decoding.BeamSearchDecoding;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.lm.DecoderSession;
import org.xformers4j.models.lm.LanguageModelTrainer;
import org.xformers4j.models.lm.TextModelTrainer.TokenizerKind;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.ConfigFiles;
import org.xformers4j.registry.UsageException;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.Point;
import org.xformers4j.train.RunSettings;

/**
 * The xformers4j half of the side-by-side benchmark against PyTorch ({@code it/bench/python}) and
 * DJL ({@code it/djl-bench}): the model of {@code examples/char-lm.xml}, measured the way the
 * other halves measure it, one JSON object per measurement.
 * <ul>
 *   <li>{@link #train}: {@link LanguageModelTrainer} (the one training loop) with the example's
 *       architecture, optimisation and batch; tokens per second over the steps after the warm-up
 *       steps, from the loop's own points (evaluation excluded), and the last training loss.</li>
 *   <li>{@link #generate}: untrained weights, prompts of 32 tokens continued by 256 with KV caches:
 *       greedy at batch 1 and 8, beam search of width 4 at batch 1; the median of the timed runs
 *       after untimed ones for a few seconds, so that the JIT has compiled the decoding step.</li>
 * </ul>
 * The thread count is the backend's ({@code -Dxformers4j.cpu.threads=N}); it is reported.
 * {@code it/bench/side-by-side.sh} runs the three engines interleaved; by hand, from the repository root:
 * <pre>
 *   java --add-modules jdk.incubator.vector -Dxformers4j.cpu.threads=2 -cp it/bench/target/benchmarks.jar \
 *       org.xformers4j.bench.CharLmBenchmark train|generate [--config examples/char-lm.xml]
 *       [--text examples/data/moby-dick.txt] [--steps 300] [--warmup-steps 50] [--runs 5] [--warmup-seconds 5]
 * </pre>
 * (a main of the benchmark jar, as the JMH suite: the host's class path has no model bundle).
 */
public final class CharLmBenchmark {

    private static final int PROMPT = 32;
    private static final int NEW_TOKENS = 256;
    private static final int CONTEXT = 128;

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--config", "--text", "--steps", "--warmup-steps", "--runs", "--warmup-seconds").operands(1);

    private CharLmBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        CommandLine line;
        try {
            line = SYNTAX.parse(args);
            if (!List.of(List.of("train"), List.of("generate")).contains(line.operands())) {
                throw new UsageException("the workload is train or generate, got " + line.operands());
            }
        } catch (UsageException e) {
            System.err.println("CharLmBenchmark: " + e.getMessage());
            System.exit(2);
            return;
        }
        Path config = line.path("--config", Path.of("examples/char-lm.xml"));
        if (line.operands().get(0).equals("train")) {
            train(config, line.path("--text", Path.of("examples/data/moby-dick.txt")), line.positiveInteger("--steps", 300),
                    line.positiveInteger("--warmup-steps", 50), System.out, System.err);
        } else {
            generate(config, line.positiveInteger("--runs", 5), Math.max(0, line.number("--warmup-seconds", 5)),
                    System.out);
        }
    }

    /**
     * Trains for {@code steps} steps and prints the tokens per second of the steps after
     * {@code warmupSteps}.
     *
     * @param config the OLCUT file whose components {@code architecture}, {@code optimization} and
     *               {@code run} describe the model (examples/char-lm.xml)
     */
    public static void train(Path config, Path text, int steps, int warmupSteps, PrintStream out, PrintStream err)
            throws IOException {
        if (warmupSteps <= 0 || warmupSteps >= steps) {
            throw new IllegalArgumentException("warm-up steps must be in [1, steps), got " + warmupSteps
                    + " of " + steps);
        }
        String corpus = Files.readString(text, StandardCharsets.UTF_8);
        LanguageModelTrainer trainer;
        int batch;
        try (ConfigurationManager manager = ConfigFiles.open(config)) {
            RunSettings run = (RunSettings) manager.lookup("run");
            batch = run.batchSize();
            trainer = LanguageModelTrainer.builder().registry(ComponentRegistry.standalone())
                    .tokenizer(TokenizerKind.BYTE).architecture((Architecture) manager.lookup("architecture"))
                    .contextLength(CONTEXT).optimization((Optimization) manager.lookup("optimization")).run(run)
                    .steps(steps).evaluateEvery(warmupSteps).evaluationWindows(1).build();
        }
        List<Point> points = new ArrayList<>();
        trainer.train(corpus, point -> {
            points.add(point);
            err.printf(Locale.ROOT, "step %d  loss %.4f  %.0f tokens/s%n", point.step(), point.trainLoss(),
                    point.itemsPerSecond());
        });
        Point first = points.stream().filter(p -> p.step() == warmupSteps).findFirst().orElseThrow();
        Point last = points.get(points.size() - 1);
        long tokens = (last.step() - first.step()) * (long) batch * CONTEXT;
        out.printf(Locale.ROOT, "{\"engine\":\"xformers4j\",\"workload\":\"train\",\"threads\":%d,\"steps\":\"%d-%d\","
                        + "\"tokens_per_s\":%s,\"final_loss\":%s}%n", Parallel.shared().threads(), warmupSteps + 1,
                last.step(), BenchNumbers.format(tokens / (last.seconds() - first.seconds())),
                BenchNumbers.format(last.trainLoss()));
    }

    /**
     * Times greedy decoding at batch 1 and 8 and beam search of width 4, {@code runs} times each after
     * untimed runs for {@code warmupSeconds} (at least one).
     */
    public static void generate(Path config, int runs, double warmupSeconds, PrintStream out) {
        Architecture architecture;
        try (ConfigurationManager manager = ConfigFiles.open(config)) {
            architecture = (Architecture) manager.lookup("architecture");
        }
        TransformerDecoder decoder = architecture.decoder(ComponentRegistry.standalone(), 256, false,
                new SplittableRandom(1));
        GenerationConfig generation = GenerationConfig.builder().maxNewTokens(NEW_TOKENS).build();
        record Case(String name, int batch, DecodingStrategy strategy) {
        }
        for (Case c : List.of(new Case("greedy", 1, new GreedyDecoding()), new Case("greedy", 8, new GreedyDecoding()),
                new Case("beam4", 1, new BeamSearchDecoding(4)))) {
            int[][] prompts = prompts(c.batch());
            long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
            do {
                c.strategy().generate(new DecoderSession(decoder, true, null), prompts, generation);
            } while (System.nanoTime() < warmupEnd);
            double[] seconds = new double[runs];
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                c.strategy().generate(new DecoderSession(decoder, true, null), prompts, generation);
                seconds[r] = (System.nanoTime() - start) / 1e9;
            }
            double median = median(seconds);
            out.printf(Locale.ROOT, "{\"engine\":\"xformers4j\",\"workload\":\"generate\",\"strategy\":\"%s\","
                            + "\"batch\":%d,\"threads\":%d,\"prompt\":%d,\"new_tokens\":%d,\"seconds\":%s,"
                            + "\"tokens_per_s\":%s}%n", c.name(), c.batch(), Parallel.shared().threads(), PROMPT,
                    NEW_TOKENS, BenchNumbers.format(median), BenchNumbers.format(c.batch() * NEW_TOKENS / median));
        }
    }

    /** {@code batch} prompts of printable bytes, the same for every run. */
    private static int[][] prompts(int batch) {
        SplittableRandom random = new SplittableRandom(2);
        int[][] prompts = new int[batch][PROMPT];
        for (int[] row : prompts) {
            for (int i = 0; i < PROMPT; i++) {
                row[i] = 32 + random.nextInt(95);
            }
        }
        return prompts;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
