package org.xformers4j.bench.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * The DJL (PyTorch engine, CPU) half of the side-by-side benchmark: the character LM of
 * examples/char-lm.xml ({@link CharLm}), trained and decoded with the workloads xformers4j is measured on.
 *
 * <pre>
 *   SideBySideDjl train    [--threads N] [--steps 300] [--measure-from 51] [--batch 32] [--context 128]
 *                          [--dropout 0.1] [--seed 1] [--text examples/data/moby-dick.txt] [--repeat 1]
 *   SideBySideDjl generate [--threads N] [--batches 1,8] [--prompt 32] [--new-tokens 256]
 *                          [--warmup 2] [--repeat 5] [--seed 1]
 *   SideBySideDjl params
 * </pre>
 *
 * <p>train: AdamW (lr 0.002, betas 0.9/0.95, eps 1e-8, weight decay 0.1 on the weight matrices
 * only, linear warm-up of 100 steps then cosine decay to 0.1·lr over 2000 steps, as char-lm.xml),
 * global gradient-norm clipping at 1.0, batches of {@code batch} random windows of
 * {@code context}+1 bytes from the first 90% of the text (java.util.Random(seed)); tokens/s over steps
 * {@code measure-from}…{@code steps} (batch·context tokens a step). generate: greedy decoding with a
 * KV cache of {@code new-tokens} tokens after a prompt of {@code prompt} printable bytes
 * (SplittableRandom(2), as it/bench's GenerationBenchmark), tokens/s = batch·new-tokens / the wall
 * time of prompt and decoding, per repetition after {@code warmup} unmeasured ones.
 *
 * <p>Every measurement is one JSON line on stdout; progress and DJL's log go to stderr.
 */
public final class SideBySideDjl {

    private static final int DIM = 128;
    private static final int HEADS = 4;
    private static final int LAYERS = 4;

    private SideBySideDjl() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || args[0].startsWith("-")) {
            usage("a subcommand: train, generate or params");
        }
        String command = args[0];
        Options options = Options.parse(Arrays.copyOfRange(args, 1, args.length));
        options.allow(switch (command) {
            case "train" -> List.of("threads", "seed", "steps", "measure-from", "batch", "context", "dropout", "text",
                    "repeat");
            case "generate" -> List.of("threads", "seed", "batches", "prompt", "new-tokens", "warmup", "repeat");
            default -> List.of("threads", "seed");
        });
        int threads = options.integer("threads", 1);
        // Before the engine starts: DJL must use the jars on the class path and never download.
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Engine engine = Engine.getEngine("PyTorch");
        int seed = options.integer("seed", 1);
        engine.setRandomSeed(seed);
        System.err.printf(Locale.ROOT, "DJL %s, PyTorch %s, intra-op threads %d (OMP_NUM_THREADS=%s)%n",
                Engine.getDjlVersion(), engine.getVersion(), JniUtils.getNumThreads(), System.getenv("OMP_NUM_THREADS"));
        switch (command) {
            case "train" -> train(engine, options, threads, seed);
            case "generate" -> generate(engine, options, threads);
            case "verify" -> verify(engine);
            case "params" -> {
                try (NDManager manager = engine.newBaseManager()) {
                    CharLm model = new CharLm(manager, DIM, HEADS, LAYERS, 0f, 16);
                    System.out.printf(Locale.ROOT, "{\"engine\":\"djl\",\"workload\":\"params\",\"parameters\":%d}%n",
                            model.parameterCount());
                }
            }
            default -> usage("an unknown subcommand '" + command + "'");
        }
    }

    private static void train(Engine engine, Options options, int threads, int seed) throws IOException {
        int steps = options.integer("steps", 300);
        int measureFrom = options.integer("measure-from", 51);
        int batch = options.integer("batch", 32);
        int context = options.integer("context", 128);
        float dropout = (float) options.decimal("dropout", 0.1);
        int repeat = options.integer("repeat", 1);
        Path textPath = Path.of(options.string("text", "examples/data/moby-dick.txt"));
        if (measureFrom < 2 || measureFrom > steps) {
            usage("--measure-from between 2 and --steps");
        }
        byte[] text = Files.readAllBytes(textPath);
        int trainLength = (int) (text.length * 0.9);
        for (int run = 0; run < repeat; run++) {
            engine.setRandomSeed(seed);
            try (NDManager manager = engine.newBaseManager()) {
                CharLm model = new CharLm(manager, DIM, HEADS, LAYERS, dropout, context);
                System.err.printf(Locale.ROOT, "train: %,d parameters, batch %d×%d, %d steps, threads %d%n",
                        model.parameterCount(), batch, context, steps, threads);
                Optimizer optimizer = adamW(model);
                Loss loss = Loss.softmaxCrossEntropyLoss();
                Random random = new Random(seed);
                long[] inputs = new long[batch * context];
                long[] targets = new long[batch * context];
                long start = 0;
                float last = Float.NaN;
                float firstLoss = Float.NaN;
                long[] phases = new long[3];
                long cpuStart = 0;
                for (int step = 1; step <= steps; step++) {
                    if (step == measureFrom) {
                        start = System.nanoTime();
                        cpuStart = processCpuNanos();
                    }
                    for (int b = 0; b < batch; b++) {
                        int origin = random.nextInt(trainLength - context);
                        for (int t = 0; t < context; t++) {
                            inputs[b * context + t] = text[origin + t] & 0xff;
                            targets[b * context + t] = text[origin + t + 1] & 0xff;
                        }
                    }
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray x = scope.create(inputs, new Shape(batch, context));
                        NDArray y = scope.create(targets, new Shape(batch * context));
                        NDArray value;
                        long t0 = System.nanoTime();
                        long t1;
                        try (GradientCollector collector = engine.newGradientCollector()) {
                            NDArray logits = model.forward(x, 0, null, null, true).reshape(batch * context, CharLm.VOCAB);
                            value = loss.evaluate(new NDList(y), new NDList(logits));
                            t1 = System.nanoTime();
                            collector.backward(value);
                        }
                        long t2 = System.nanoTime();
                        update(model, optimizer, scope, 1.0f);
                        last = value.getFloat();
                        long t3 = System.nanoTime();
                        if (step >= measureFrom) {
                            phases[0] += t1 - t0;
                            phases[1] += t2 - t1;
                            phases[2] += t3 - t2;
                        }
                        if (step == 1) {
                            firstLoss = last;
                        }
                    }
                    if (step % 50 == 0) {
                        System.err.printf(Locale.ROOT, "step %d loss %.4f (%d arrays held)%n", step, last,
                                manager.getManagedArrays().size());
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
                long tokens = (long) (steps - measureFrom + 1) * batch * context;
                System.out.printf(Locale.ROOT, "{\"engine\":\"djl\",\"workload\":\"train\",\"threads\":%d,"
                                + "\"omp_wait_policy\":\"%s\","
                                + "\"tokens_per_s\":%.1f,\"steps\":\"%d-%d\",\"batch\":%d,\"context\":%d,\"seconds\":%.3f,"
                                + "\"cpu_seconds\":%.3f,\"forward_s\":%.3f,\"backward_s\":%.3f,\"update_s\":%.3f,"
                                + "\"first_loss\":%.4f,\"last_loss\":%.4f,\"parameters\":%d,\"run\":%d}%n",
                        threads, waitPolicy(), tokens / seconds, measureFrom, steps, batch, context, seconds,
                        cpuSeconds, phases[0] / 1e9, phases[1] / 1e9, phases[2] / 1e9, firstLoss, last,
                        model.parameterCount(), run + 1);
                System.out.flush();
            }
        }
    }

    /**
     * AdamW as char-lm.xml's optimization: decay on the weight matrices only, so two DJL AdamW
     * optimisers (one with weight decay 0.1, one with none) behind one that routes each parameter.
     */
    private static Optimizer adamW(CharLm model) {
        ParameterTracker schedule = new WarmupCosine(0.002f, 100, 2000, 0.1f);
        Optimizer decayed = Optimizer.adamW().optLearningRateTracker(schedule).optBeta1(0.9f).optBeta2(0.95f)
                .optEpsilon(1e-8f).optWeightDecays(0.1f).build();
        Optimizer undecayed = Optimizer.adamW().optLearningRateTracker(schedule).optBeta1(0.9f).optBeta2(0.95f)
                .optEpsilon(1e-8f).optWeightDecays(0f).build();
        Map<String, Boolean> decay = model.decayed;
        return new Optimizer(Optimizer.adamW()) {
            @Override
            public void update(String parameterId, NDArray weight, NDArray grad) {
                (decay.get(parameterId) ? decayed : undecayed).update(parameterId, weight, grad);
            }
        };
    }

    /** Clips the gradients' global L2 norm to {@code clip}, applies the optimiser and zeroes the gradients. */
    private static void update(CharLm model, Optimizer optimizer, NDManager scope, float clip) {
        List<NDArray> gradients = new ArrayList<>(model.parameters.size());
        NDArray squares = null;
        for (NDArray parameter : model.parameters.values()) {
            NDArray gradient = parameter.getGradient();
            gradient.attach(scope);
            gradients.add(gradient);
            NDArray sum = gradient.square().sum();
            squares = squares == null ? sum : squares.add(sum);
        }
        double norm = Math.sqrt(squares.getFloat());
        if (norm > clip) {
            float factor = (float) (clip / (norm + 1e-6));
            for (NDArray gradient : gradients) {
                gradient.muli(factor);
            }
        }
        int i = 0;
        for (Map.Entry<String, NDArray> entry : model.parameters.entrySet()) {
            NDArray gradient = gradients.get(i++);
            optimizer.update(entry.getKey(), entry.getValue(), gradient);
            gradient.subi(gradient);           // PyTorch accumulates; DJL's collector does not zero
        }
    }

    private static void generate(Engine engine, Options options, int threads) {
        int promptLength = options.integer("prompt", 32);
        int newTokens = options.integer("new-tokens", 256);
        int warmup = options.integer("warmup", 2);
        int repeat = options.integer("repeat", 5);
        int[] batches = Arrays.stream(options.string("batches", "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
        JniUtils.setGradMode(false);
        try (NDManager manager = engine.newBaseManager()) {
            int maxPositions = promptLength + newTokens;
            CharLm model = new CharLm(manager, DIM, HEADS, LAYERS, 0f, maxPositions);
            for (int batch : batches) {
                SplittableRandom random = new SplittableRandom(2);
                long[] prompt = new long[batch * promptLength];
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = 32 + random.nextInt(95);
                }
                for (int rep = -warmup; rep < repeat; rep++) {
                    long start = System.nanoTime();
                    long cpuStart = processCpuNanos();
                    long[] first = greedy(model, manager, prompt, batch, promptLength, newTokens);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
                    if (rep >= 0) {
                        System.out.printf(Locale.ROOT, "{\"engine\":\"djl\",\"workload\":\"generate\",\"threads\":%d,"
                                        + "\"omp_wait_policy\":\"%s\","
                                        + "\"batch\":%d,\"tokens_per_s\":%.1f,\"prompt\":%d,\"new_tokens\":%d,"
                                        + "\"seconds\":%.4f,\"cpu_seconds\":%.4f,\"kv_cache\":true,\"parameters\":%d,\"rep\":%d}%n",
                                threads, waitPolicy(), batch, (double) batch * newTokens / seconds, promptLength, newTokens, seconds,
                                cpuSeconds, model.parameterCount(), rep + 1);
                        System.out.flush();
                    } else {
                        System.err.printf(Locale.ROOT, "generate batch %d warm-up %.3f s, first tokens %s%n", batch,
                                seconds, Arrays.toString(Arrays.copyOf(first, Math.min(8, first.length))));
                    }
                }
            }
        }
    }

    /**
     * The KV-cached path against the uncached one: the logits of a 32-token prompt and 16 further
     * tokens fed one at a time through the caches, against one forward pass over all 48 positions.
     */
    private static void verify(Engine engine) {
        JniUtils.setGradMode(false);
        int prompt = 32;
        int total = 48;
        try (NDManager manager = engine.newBaseManager()) {
            CharLm model = new CharLm(manager, DIM, HEADS, LAYERS, 0f, total);
            SplittableRandom random = new SplittableRandom(3);
            long[] tokens = new long[total];
            for (int i = 0; i < total; i++) {
                tokens[i] = random.nextInt(256);
            }
            float[] full;
            try (NDManager scope = manager.newSubManager()) {
                full = model.forward(scope.create(tokens, new Shape(1, total)), 0, null, null, false).toFloatArray();
            }
            double worst = 0;
            try (NDManager session = manager.newSubManager()) {
                CharLm.Cache[] caches = model.newCaches();
                for (int position = 0; position < total; ) {
                    int length = position == 0 ? prompt : 1;
                    try (NDManager scope = session.newSubManager()) {
                        NDArray in = scope.create(Arrays.copyOfRange(tokens, position, position + length), new Shape(1, length));
                        float[] step = model.forward(in, position, caches, session, false).toFloatArray();
                        for (int i = 0; i < step.length; i++) {
                            worst = Math.max(worst, Math.abs(step[i] - full[position * CharLm.VOCAB + i]));
                        }
                    }
                    position += length;
                }
            }
            System.out.printf(Locale.ROOT, "{\"engine\":\"djl\",\"workload\":\"verify\",\"max_abs_logit_diff\":%.3g}%n",
                    worst);
            if (worst > 1e-3) {
                throw new IllegalStateException("cached and uncached logits differ by " + worst);
            }
        }
    }

    /** Greedy decoding with KV caches; returns row 0's new tokens. */
    private static long[] greedy(CharLm model, NDManager manager, long[] prompt, int batch, int promptLength,
                                 int newTokens) {
        long[] generated = new long[newTokens];
        try (NDManager session = manager.newSubManager()) {
            CharLm.Cache[] caches = model.newCaches();
            long[] next;
            try (NDManager scope = session.newSubManager()) {
                NDArray tokens = scope.create(prompt, new Shape(batch, promptLength));
                NDArray logits = model.forward(tokens, 0, caches, session, false);
                next = logits.get(":, -1, :").argMax(-1).toLongArray();
            }
            generated[0] = next[0];
            for (int i = 1; i < newTokens; i++) {
                try (NDManager scope = session.newSubManager()) {
                    NDArray tokens = scope.create(next, new Shape(batch, 1));
                    NDArray logits = model.forward(tokens, promptLength + i - 1, caches, session, false);
                    next = logits.get(":, -1, :").argMax(-1).toLongArray();
                }
                generated[i] = next[0];
            }
        }
        return generated;
    }

    /** Linear warm-up, then cosine decay to {@code finalFraction}·peak at {@code total} steps (char-lm.xml). */
    private record WarmupCosine(float peak, int warmup, int total, float finalFraction) implements ParameterTracker {
        @Override
        public float getNewValue(String parameterId, int numUpdate) {
            if (numUpdate <= warmup) {
                return peak * numUpdate / warmup;
            }
            double progress = Math.min(1.0, (double) (numUpdate - warmup) / (total - warmup));
            return (float) (peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress))));
        }
    }

    /** OMP_WAIT_POLICY as PyTorch's OpenMP read it at start-up ("default": libgomp's, spinning). */
    private static String waitPolicy() {
        String policy = System.getenv("OMP_WAIT_POLICY");
        return policy == null || policy.isEmpty() ? "default" : policy.toLowerCase(Locale.ROOT);
    }

    /** CPU time of the whole process (all threads, PyTorch's included), or -1 where unknown. */
    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    private static void usage(String problem) {
        System.err.println("SideBySideDjl needs " + problem + ". Usage:\n"
                + "  train    [--threads N] [--steps 300] [--measure-from 51] [--batch 32] [--context 128]"
                + " [--dropout 0.1] [--seed 1] [--text examples/data/moby-dick.txt] [--repeat 1]\n"
                + "  generate [--threads N] [--batches 1,8] [--prompt 32] [--new-tokens 256] [--warmup 2] [--repeat 5]\n"
                + "  params");
        System.exit(2);
    }

    /** --name value pairs. */
    private static final class Options {
        private final Map<String, String> values = new java.util.HashMap<>();

        static Options parse(String[] args) {
            Options options = new Options();
            for (int i = 0; i < args.length; i++) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    usage("options as --name value pairs, got '" + args[i] + "'");
                }
                options.values.put(args[i].substring(2), args[++i]);
            }
            return options;
        }

        String string(String name, String fallback) {
            return values.getOrDefault(name, fallback);
        }

        int integer(String name, int fallback) {
            return Integer.parseInt(string(name, Integer.toString(fallback)));
        }

        double decimal(String name, double fallback) {
            return Double.parseDouble(string(name, Double.toString(fallback)));
        }

        void allow(List<String> names) {
            for (String name : values.keySet()) {
                if (!names.contains(name)) {
                    usage("known options; --" + name + " is not one for this subcommand");
                }
            }
        }
    }
}
