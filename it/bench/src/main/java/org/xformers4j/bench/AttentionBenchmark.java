package org.xformers4j.bench;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.compute.Backends;
import org.xformers4j.compute.ComputeBackend;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * Times one attention mechanism, found by name through {@link ComponentRegistry#standalone()}, on
 * random queries, keys and values [batch, heads, length, dim] of the default backend: forward only,
 * or forward and backward.
 *
 * <p>FLOPs are the mechanism's own count ({@link FlopCount}: FlashAttention-2's convention, 2 per
 * multiply-add of the products the mechanism computes, each mechanism's formula in its javadoc),
 * never the dense formula applied to a mechanism that does other work; a mechanism that does not
 * count its FLOPs gets no GFLOP/s (null): compare it by time and memory.
 */
public final class AttentionBenchmark {

    /**
     * What to run.
     *
     * @param options     the mechanism's hyperparameters beyond its defaults; a mechanism whose length is
     *                    constrained gets its {@link AttentionCapabilities#lengthOption() length option} set to
     *                    {@code length} unless given here
     * @param warmupCalls calls before the timed ones (also lasting at least a second), 0 for none
     */
    public record Config(String impl, Map<String, String> options, int batch, int heads, int length, int dim,
                  boolean backward, boolean causal, int runs, int warmupCalls) {

        /** Defaults: no options, {@value #WARMUP_MIN_CALLS} warm-up calls. */
        public Config(String impl, int batch, int heads, int length, int dim, boolean backward, boolean causal, int runs) {
            this(impl, Map.of(), batch, heads, length, dim, backward, causal, runs, WARMUP_MIN_CALLS);
        }

        /** The sizes of one call, for a {@link FlopCount}. */
        public FlopCount.Shape shape() {
            return FlopCount.Shape.self(batch, heads, length, dim, causal);
        }
    }

    /**
     * @param ms        median milliseconds per call
     * @param gflops    the mechanism's FLOPs of one call ({@link #flops}) / median seconds / 1e9; null when
     *                  it does not count them
     * @param peakBytes the most bytes the backend held during one call beyond what it held before
     */
    public record Result(double ms, Double gflops, long peakBytes) {
    }

    /** Warm-up lasts at least this long (C2 must have compiled the kernels)... */
    private static final long WARMUP_NANOS = 1_000_000_000L;
    /** ...and at least this many calls, unless told otherwise. */
    public static final int WARMUP_MIN_CALLS = 2;
    /** At most this many collections before measuring memory... */
    private static final int SETTLE_ROUNDS = 10;
    /** ...each followed by this pause for the cleaner. */
    private static final long SETTLE_PAUSE_MILLIS = 20;

    private AttentionBenchmark() {
    }

    /**
     * Creates the mechanism and measures it.
     *
     * @throws IllegalArgumentException for an unknown or non-attention component
     */
    public static Result run(Config config, PrintStream log) {
        ComponentRegistry registry = ComponentRegistry.standalone();
        AttentionMechanism mechanism = registry.create(AttentionMechanism.class, config.impl(),
                options(config, registry.find(config.impl()).descriptor().capabilities(AttentionCapabilities.class)));
        SplittableRandom rng = new SplittableRandom(1234);
        mechanism.initialize(config.heads(), config.dim(), rng);
        ComputeBackend backend = Backends.defaultBackend();
        int[] shape = {config.batch(), config.heads(), config.length(), config.dim()};
        Tensor q = Tensor.randn(rng, shape).requiresGrad(config.backward());
        AttentionCapabilities capabilities = ComponentDescriptor.of(mechanism.getClass())
                .capabilities(AttentionCapabilities.class);
        // a shared query-key mechanism (lsh) takes the queries as its keys
        boolean sharedQueryKey = capabilities.sharedQueryKey();
        Tensor k = sharedQueryKey ? q : Tensor.randn(rng, shape).requiresGrad(config.backward());
        Tensor v = Tensor.randn(rng, shape).requiresGrad(config.backward());
        Tensor gradOutput = config.backward() ? Tensor.randn(rng, shape) : null;
        // a mechanism that needs an image grid (swin) gets the tokens as the most nearly square one
        AttentionContext context = AttentionContext.builder().causal(config.causal())
                .grid(capabilities.gridRequired() ? AttentionContext.Grid.covering(config.length()) : null).build();
        Runnable call = () -> {
            if (config.backward()) {
                q.zeroGrad();
                k.zeroGrad();
                v.zeroGrad();
                mechanism.forward(q, k, v, context).backward(gradOutput);
            } else {
                try (GradMode.Scope ignored = GradMode.noGrad()) {
                    mechanism.forward(q, k, v, context);
                }
            }
        };

        log.println("bench attention: warming up " + config.impl() + " on " + backend.name() + " "
                + Arrays.toString(shape) + (config.causal() ? ", causal" : "") + (config.backward() ? ", forward+backward" : ""));
        long start = System.nanoTime();
        for (int calls = 0; calls < config.warmupCalls()
                || config.warmupCalls() > 0 && System.nanoTime() - start < WARMUP_NANOS; calls++) {
            call.run();
        }
        double[] seconds = new double[config.runs()];
        long peak = 0;
        for (int r = 0; r < config.runs(); r++) {
            // Memory of the last timed call, once the garbage of the earlier ones (released on the CPU
            // only when collected) is gone, so that neither it nor its release during the call is counted.
            boolean last = r == config.runs() - 1;
            long before = 0;
            if (last) {
                settle(backend.memory());
                backend.memory().resetPeak();
                before = backend.memory().currentBytes();
            }
            long t0 = System.nanoTime();
            call.run();
            seconds[r] = (System.nanoTime() - t0) / 1e9;
            if (last) {
                peak = backend.memory().peakBytes() - before;
            }
        }
        Arrays.sort(seconds);
        int n = seconds.length;
        double median = n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
        Double flops = flops(mechanism, config);
        Result result = new Result(median * 1e3, flops == null ? null : flops / median / 1e9, peak);
        log.println(String.format(Locale.ROOT, "bench attention: %s median %.3f ms, %s GFLOP/s, peak %d extra bytes",
                config.impl(), result.ms(), result.gflops() == null ? "no" : String.format(Locale.ROOT, "%.2f",
                        result.gflops()), result.peakBytes()));
        return result;
    }

    /**
     * The hyperparameters {@code config} runs the mechanism with: its options, and the length
     * option of a length-constrained mechanism set to the length when they do not set it.
     */
    public static Map<String, String> options(Config config, AttentionCapabilities capabilities) {
        String lengthOption = capabilities.lengthOption();
        if (lengthOption.isEmpty() || config.options().containsKey(lengthOption)) {
            return config.options();
        }
        Map<String, String> out = new LinkedHashMap<>(config.options());
        out.put(lengthOption, Integer.toString(config.length()));
        return out;
    }

    /**
     * FLOPs of one call of {@code mechanism} as {@code config} runs it, by the mechanism's own
     * count: forward, plus backward with {@link Config#backward()}; null when it does not count them.
     */
    public static Double flops(AttentionMechanism mechanism, Config config) {
        if (!(mechanism instanceof FlopCount count)) {
            return null;
        }
        FlopCount.Shape shape = config.shape();
        return count.forwardFlops(shape) + (config.backward() ? count.backwardFlops(shape) : 0);
    }

    /**
     * {@code {"impl":NAME,"batch":B,"heads":H,"length":N,"dim":D,"backward":b,"causal":c,"ms":x,
     * "gflops":y|null,"peak_bytes":z}}, numbers by {@link BenchNumbers#format}.
     */
    public static String json(Config config, Result result) {
        return "{\"impl\":\"" + config.impl() + "\",\"batch\":" + config.batch() + ",\"heads\":" + config.heads()
                + ",\"length\":" + config.length() + ",\"dim\":" + config.dim() + ",\"backward\":" + config.backward()
                + ",\"causal\":" + config.causal() + ",\"ms\":" + BenchNumbers.format(result.ms()) + ",\"gflops\":"
                + (result.gflops() == null ? "null" : BenchNumbers.format(result.gflops()))
                + ",\"peak_bytes\":" + result.peakBytes() + "}";
    }

    /** What was run, then the time, throughput and peak memory, one per line. */
    public static String text(Config config, Result result) {
        String nl = System.lineSeparator();
        return "attention " + config.impl() + ", batch " + config.batch() + ", heads " + config.heads() + ", length "
                + config.length() + ", dim " + config.dim() + (config.causal() ? ", causal" : "")
                + (config.backward() ? ", forward+backward" : ", forward") + ", median of " + config.runs()
                + " runs after warm-up" + nl
                + "  time:       " + BenchNumbers.format(result.ms()) + " ms" + nl
                + "  throughput: " + (result.gflops() == null ? "not reported (the mechanism does not count its FLOPs)"
                        : BenchNumbers.format(result.gflops()) + " GFLOP/s (by its own FLOP count)") + nl
                + "  peak extra: " + String.format(Locale.ROOT, "%.1f", result.peakBytes() / (1024.0 * 1024.0))
                + " MiB (" + result.peakBytes() + " bytes)" + nl;
    }

    /**
     * Collects garbage until the backend's memory stops shrinking: CPU buffers are released by a
     * cleaner after the collector finds them unreachable, a little later.
     */
    private static void settle(MemoryStats memory) {
        long previous = Long.MAX_VALUE;
        for (int round = 0; round < SETTLE_ROUNDS && memory.currentBytes() < previous; round++) {
            previous = memory.currentBytes();
            System.gc();
            try {
                Thread.sleep(SETTLE_PAUSE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
