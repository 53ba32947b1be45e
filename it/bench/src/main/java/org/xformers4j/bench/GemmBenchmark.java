package org.xformers4j.bench;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
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
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

/**
 * Square SGEMM, C = A * B with N x N float32 matrices, with the SIMD or the scalar CPU kernel: the
 * one GEMM benchmark, with two drivers.
 *
 * <ul>
 *   <li>JMH: {@code java -jar it/bench/target/benchmarks.jar GemmBenchmark -p size=1024 -p kernel=simd}
 *       reports the average time per multiply; GFLOP/s = 2 N^3 / time.</li>
 *   <li>{@link #run}: the quick check behind {@code xformers4j bench gemm}, both kernels on the same
 *       operands and pool, each warmed up then timed, reporting the median GFLOP/s.</li>
 * </ul>
 * Only {@link #run} and {@link Result} are used outside JMH, so the launcher runs them without JMH
 * on its class path (the annotations are not read there).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    /** Warm-up of {@link #run} lasts at least this long per kernel (C2 must have compiled the kernel)... */
    private static final long WARMUP_NANOS = 1_000_000_000L;
    /** ...and at least this many calls. */
    private static final int WARMUP_MIN_CALLS = 3;

    /** N: the matrices are N x N. */
    @Param({"256", "512", "1024"})
    public int size;

    /** {@code simd} (needs {@code --add-modules jdk.incubator.vector}) or {@code scalar}. */
    @Param({"simd", "scalar"})
    public String kernel;

    /** Pool size; 0 means available processors. */
    @Param({"0"})
    public int threads;

    private Sgemm sgemm;
    private Parallel parallel;
    private float[] a;
    private float[] b;
    private float[] c;

    /**
     * Picks the kernel and fills A and B with uniform values in [-0.5, 0.5) (seed 42).
     *
     * @throws IllegalStateException for {@code kernel=simd} without the Vector API
     * @throws IllegalArgumentException for another kernel name
     */
    @Setup(Level.Trial)
    public void setUp() {
        switch (kernel) {
            case "simd":
                sgemm = Sgemm.best();
                if (!sgemm.name().equals("simd")) {
                    throw new IllegalStateException("kernel=simd needs --add-modules jdk.incubator.vector");
                }
                break;
            case "scalar":
                sgemm = Sgemm.scalar();
                break;
            default:
                throw new IllegalArgumentException("kernel must be simd or scalar, got " + kernel);
        }
        parallel = new Parallel(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        Random random = new Random(42);
        a = new float[size * size];
        b = new float[size * size];
        c = new float[size * size];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextFloat() - 0.5f;
            b[i] = random.nextFloat() - 0.5f;
        }
    }

    /** One multiply, C = A * B; returns C. */
    @Benchmark
    public float[] gemm() {
        sgemm.gemm(false, false, size, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size, parallel);
        return c;
    }

    /**
     * What {@link #run} measured.
     *
     * @param size         N
     * @param threads      threads of the CPU pool
     * @param runs         timed calls per kernel; the median is reported
     * @param simdGflops   median GFLOP/s of the SIMD kernel, null without the Vector API
     * @param scalarGflops median GFLOP/s of the scalar kernel
     */
    public record Result(int size, int threads, int runs, Double simdGflops, double scalarGflops) {

        /** {@code {"size":N,"threads":T,"simd_gflops":x|null,"scalar_gflops":y}}, numbers by {@link BenchNumbers#format}. */
        public String json() {
            return "{\"size\":" + size + ",\"threads\":" + threads
                    + ",\"simd_gflops\":" + (simdGflops == null ? "null" : BenchNumbers.format(simdGflops))
                    + ",\"scalar_gflops\":" + BenchNumbers.format(scalarGflops) + "}";
        }

        /** The sizes, each kernel's GFLOP/s and their ratio, one per line. */
        public String text() {
            String nl = System.lineSeparator();
            StringBuilder out = new StringBuilder("gemm " + size + "x" + size + "x" + size + " float32, " + threads
                    + " thread(s), median of " + runs + " runs after warm-up" + nl);
            if (simdGflops == null) {
                out.append("  simd:   unavailable (start the JVM with --add-modules jdk.incubator.vector)").append(nl);
            } else {
                out.append("  simd:   ").append(BenchNumbers.format(simdGflops)).append(" GFLOP/s").append(nl);
            }
            out.append("  scalar: ").append(BenchNumbers.format(scalarGflops)).append(" GFLOP/s").append(nl);
            if (simdGflops != null) {
                out.append("  simd / scalar: ").append(String.format(Locale.ROOT, "%.1fx", simdGflops / scalarGflops))
                        .append(nl);
            }
            return out.toString();
        }
    }

    /**
     * Times the SIMD kernel (when the Vector API is there) and the scalar kernel on the same N x N
     * operands and pool: each warmed up for at least a second and {@value #WARMUP_MIN_CALLS} calls,
     * then {@code runs} timed calls, whose median gives its GFLOP/s. Progress goes to {@code log}.
     *
     * @throws IllegalArgumentException when N x N does not fit a Java array, or a count is not positive
     */
    public static Result run(int n, int threads, int runs, PrintStream log) {
        if (n <= 0 || threads <= 0 || runs <= 0 || (long) n * n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("gemm: size " + n + ", threads " + threads + ", runs " + runs);
        }
        GemmBenchmark bench = new GemmBenchmark();
        bench.size = n;
        bench.threads = threads;
        bench.kernel = "scalar";
        bench.setUp();
        Double simd = null;
        Sgemm best = Sgemm.best();
        if (best.name().equals("simd")) {
            bench.sgemm = best;
            simd = bench.medianGflops(runs, log);
        } else {
            log.println("bench gemm: jdk.incubator.vector is not in the boot layer; skipping the SIMD kernel");
        }
        bench.sgemm = Sgemm.scalar();
        double scalar = bench.medianGflops(runs, log);
        return new Result(n, threads, runs, simd, scalar);
    }

    private double medianGflops(int runs, PrintStream log) {
        log.println("bench gemm: warming up " + sgemm.name() + " (" + size + "x" + size + ", " + parallel.threads()
                + " threads)");
        long start = System.nanoTime();
        for (int calls = 0; calls < WARMUP_MIN_CALLS || System.nanoTime() - start < WARMUP_NANOS; calls++) {
            gemm();
        }
        double[] seconds = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            gemm();
            seconds[r] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(seconds);
        double median = runs % 2 == 1 ? seconds[runs / 2] : (seconds[runs / 2 - 1] + seconds[runs / 2]) / 2;
        double gflops = 2.0 * size * size * (double) size / median / 1e9;
        log.println(String.format(Locale.ROOT, "bench gemm: %s median %.3f ms, %.2f GFLOP/s", sgemm.name(),
                median * 1e3, gflops));
        return gflops;
    }
}
