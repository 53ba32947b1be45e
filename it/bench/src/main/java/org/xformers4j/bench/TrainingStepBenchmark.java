package org.xformers4j.bench;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.xformers4j.models.nn.Architecture;
import org.xformers4j.models.nn.TransformerEncoder;
import org.xformers4j.nn.Linear;
import org.xformers4j.nn.Module;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.Functional;
import org.xformers4j.tensor.Tensor;
import org.xformers4j.train.Evaluation;
import org.xformers4j.train.Optimization;
import org.xformers4j.train.RunSettings;
import org.xformers4j.train.TrainingLoop;
import org.xformers4j.train.TrainingTask;

/**
 * One optimiser step of training, taken by {@link TrainingLoop}, the one training loop, run for one
 * step: the forward pass, the mean cross-entropy, the backward pass, gradient clipping, the AdamW
 * update and zeroing the gradients (each operation also creates the loop's optimiser state, a copy
 * of two floats per parameter, under 1 % of a step). Two models, with their examples' architectures and optimisation (untrained weights and
 * random data, as the cost does not depend on them):
 *
 * <ul>
 *   <li>{@code lm}: the char-LM of {@code examples/char-lm.xml} (4 pre-norm blocks of width 128, 4 heads,
 *       flash attention, rotary positions, tied embeddings of 256 bytes, dropout 0.1), a batch of 32
 *       windows of 128 tokens;</li>
 *   <li>{@code digits}: the vision transformer of {@code examples/digits-classifier.xml} (2 blocks of
 *       width 64, 4 heads, flash attention, learned positions, a CLS token) on a batch of 32 images of
 *       16 patches of 2 x 2 pixels, projected by a linear layer as {@code ImagePatches} does.</li>
 * </ul>
 * JMH reports steps per second, and beside them the {@code tokens} counter: the tokens per second the
 * training loop prints (target tokens for {@code lm}, patches for {@code digits}).
 *
 * <p>{@code java -jar it/bench/target/benchmarks.jar TrainingStepBenchmark -p model=lm}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TrainingStepBenchmark {

    private static final int BATCH = 32;
    private static final int CONTEXT = 128;
    private static final int VOCABULARY = 256;
    private static final int PATCHES = 16;
    private static final int PATCH_PIXELS = 4;
    private static final int CLASSES = 10;

    /** {@code lm} or {@code digits}. */
    @Param({"lm", "digits"})
    public String model;

    private Step step;
    private TrainingLoop loop;
    private TrainingTask task;

    /** A model and its batch: {@link #loss()} builds the step's graph. */
    private interface Step {
        Module network();

        Tensor loss();

        long items();
    }

    @Setup(Level.Trial)
    public void setUp() {
        ComponentRegistry registry = ComponentRegistry.standalone();
        SplittableRandom rng = new SplittableRandom(1);
        Optimization optimization;
        switch (model) {
            case "lm" -> {
                step = languageModel(registry, rng);
                optimization = Optimization.builder().learningRate(0.002f).betas(0.9f, 0.95f).weightDecay(0.1f)
                        .gradientClip(1f).build();
            }
            case "digits" -> {
                step = digits(registry, rng);
                optimization = Optimization.builder().learningRate(0.003f).build();
            }
            default -> throw new IllegalArgumentException("model must be lm or digits, got " + model);
        }
        loop = new TrainingLoop(optimization, RunSettings.builder().batchSize(BATCH).build(), 1, 1);
        Step model = step;
        task = new TrainingTask() {
            @Override
            public Batch batch(long index, int part, int parts) {
                return new Batch(model.loss(), model.items());
            }

            @Override
            public Evaluation evaluate() {
                return null;
            }

            @Override
            public Map<String, String> identity() {
                return Map.of("benchmark", "TrainingStepBenchmark", "model", TrainingStepBenchmark.this.model);
            }
        };
    }

    private static Step languageModel(ComponentRegistry registry, SplittableRandom rng) {
        Architecture architecture = Architecture.builder().attention("flash", Map.of()).positional("rotary", Map.of())
                .modelDim(128).heads(4).layers(4).tiedEmbeddings(true).dropout(0.1f).build();
        var decoder = architecture.decoder(registry, VOCABULARY, false, rng);
        int[][] inputs = new int[BATCH][CONTEXT];
        int[] targets = new int[BATCH * CONTEXT];
        for (int b = 0; b < BATCH; b++) {
            for (int t = 0; t < CONTEXT; t++) {
                inputs[b][t] = rng.nextInt(VOCABULARY);
                targets[b * CONTEXT + t] = rng.nextInt(VOCABULARY);
            }
        }
        return new Step() {
            @Override
            public Module network() {
                return decoder;
            }

            @Override
            public Tensor loss() {
                Tensor logits = decoder.forward(inputs, null);                      // [B, L, V]
                return Functional.crossEntropy(logits.reshape(BATCH * CONTEXT, VOCABULARY), targets);
            }

            @Override
            public long items() {
                return targets.length;
            }
        };
    }

    /** Patches projected to the model width, the encoder, and a linear head on the pooled CLS token. */
    private static final class PatchClassifier extends Module {
        private final Linear projection;
        private final TransformerEncoder encoder;
        private final Linear head;

        PatchClassifier(Architecture architecture, ComponentRegistry registry, SplittableRandom rng) {
            projection = registerModule("projection", new Linear(PATCH_PIXELS, architecture.modelDim(), true, rng));
            encoder = registerModule("encoder", architecture.encoder(registry, rng));
            head = registerModule("head", new Linear(architecture.modelDim(), CLASSES, true, rng));
        }

        Tensor forward(Tensor patches) {
            return head.forward(encoder.forward(projection.forward(patches), null).pooled());
        }
    }

    private static Step digits(ComponentRegistry registry, SplittableRandom rng) {
        Architecture architecture = Architecture.builder().attention("flash", Map.of())
                .positional("learned", Map.of("maxLength", Integer.toString(PATCHES)))
                .modelDim(64).heads(4).layers(2).build();
        PatchClassifier network = new PatchClassifier(architecture, registry, rng);
        Tensor patches = Tensor.rand(rng, 0f, 1f, BATCH, PATCHES, PATCH_PIXELS);
        int[] labels = new int[BATCH];
        for (int b = 0; b < BATCH; b++) {
            labels[b] = rng.nextInt(CLASSES);
        }
        return new Step() {
            @Override
            public Module network() {
                return network;
            }

            @Override
            public Tensor loss() {
                return Functional.crossEntropy(network.forward(patches), labels);
            }

            @Override
            public long items() {
                return (long) BATCH * PATCHES;
            }
        };
    }

    /** The tokens (patches) trained on, which JMH reports per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Tokens {
        public long tokens;
    }

    /** One training step; returns its loss. */
    @Benchmark
    public float step(Tokens counter) {
        TrainingLoop.Outcome outcome = loop.run(step.network(), task);
        counter.tokens += step.items();
        return (float) outcome.last().trainLoss();
    }

    /** The parameters the step updates. */
    List<Tensor> parameters() {
        return step.network().parameters();
    }
}
