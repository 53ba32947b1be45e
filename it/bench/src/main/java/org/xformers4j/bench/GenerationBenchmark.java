package org.xformers4j.bench;

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
import org.xformers4j.component.decoding.GeneratedSequence;
import org.xformers4j.component.decoding.GenerationConfig;
import org.xformers4j.decoding.GreedyDecoding;
import org.xformers4j.models.lm.DecoderSession;
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerDecoder;
import org.xformers4j.registry.ComponentRegistry;

/**
 * Greedy generation from a GPT-style decoder the size of {@code examples/char-lm.xml} (4 blocks of
 * width 128, 4 heads, flash attention, rotary positions, 256 byte tokens; untrained weights, as
 * the cost does not depend on them): a prompt of 32 tokens continued by {@code newTokens}, with KV
 * caches ({@code cached=true}) or recomputing the whole prefix at every step. The ratio of the two
 * in the same run is what the caches buy.
 *
 * <p>{@code java -jar it/bench/target/benchmarks.jar GenerationBenchmark}
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

    private TransformerDecoder decoder;
    private int[][] prompt;
    private GenerationConfig config;

    @Setup(Level.Trial)
    public void setUp() {
        Architecture architecture = Architecture.builder().attention("flash", Map.of()).positional("rotary", Map.of())
                .modelDim(128).heads(4).layers(4).build();
        decoder = architecture.decoder(ComponentRegistry.standalone(), 256, false, new SplittableRandom(1));
        SplittableRandom random = new SplittableRandom(2);
        prompt = new int[1][PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[0][i] = 32 + random.nextInt(95);
        }
        config = GenerationConfig.builder().maxNewTokens(newTokens).build();
    }

    @Benchmark
    public GeneratedSequence generate() {
        return new GreedyDecoding().generate(new DecoderSession(decoder, cached, null), prompt, config).get(0).get(0);
    }
}
