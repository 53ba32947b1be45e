package org.xformers4j.bench;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.xformers4j.component.decoding.DecodingStrategy;
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.BeamSearchDecoding;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.lm.DecoderSession;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.registry.ComponentRegistry;

/**
 * Generation from a GPT-style decoder the size of {@code examples/char-lm.xml} (4 blocks of
 * width 128, 4 heads, flash attention, rotary positions, 256 byte tokens; untrained weights, as
 * the cost does not depend on them): {@code batch} prompts of 32 tokens each continued by
 * {@code newTokens}, greedily or by beam search with 4 beams, with KV caches ({@code cached=true})
 * or recomputing the whole prefix at every step. The ratio of the two in the same run is what the
 * caches buy; the difference between two values of {@code newTokens} is the cost of the decoding
 * steps alone. Tokens per second are {@code batch · newTokens} over the time of one operation.
 *
 * <p>{@code java -jar it/bench/target/benchmarks.jar GenerationBenchmark -p cached=true -p batch=1}
 * (with {@code -jvmArgsAppend -Dxformers4j.cpu.threads=1} for one thread)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GenerationBenchmark {

    private static final int PROMPT = 32;

    @Param({"true", "false"})
    public boolean cached;

    @Param({"64", "256"})
    public int newTokens;

    @Param({"1", "8"})
    public int batch;

    @Param({"greedy", "beam4"})
    public String strategy;

    private TransformerDecoder decoder;
    private int[][] prompt;
    private GenerationConfig config;
    private DecodingStrategy decoding;

    @Setup(Level.Trial)
    public void setUp() {
        Architecture architecture = Architecture.builder().attention("flash", Map.of()).positional("rotary", Map.of())
                .modelDim(128).heads(4).layers(4).build();
        decoder = architecture.decoder(ComponentRegistry.standalone(), 256, false, new SplittableRandom(1));
        SplittableRandom random = new SplittableRandom(2);
        prompt = new int[batch][PROMPT];
        for (int[] row : prompt) {
            for (int i = 0; i < PROMPT; i++) {
                row[i] = 32 + random.nextInt(95);
            }
        }
        config = GenerationConfig.builder().maxNewTokens(newTokens).build();
        decoding = switch (strategy) {
            case "greedy" -> new GreedyDecoding();
            case "beam4" -> new BeamSearchDecoding(4);
            default -> throw new IllegalArgumentException("strategy must be greedy or beam4, got " + strategy);
        };
    }

    @Benchmark
    public List<List<GeneratedSequence>> generate() {
        return decoding.generate(new DecoderSession(decoder, cached, null), prompt, config);
    }
}
