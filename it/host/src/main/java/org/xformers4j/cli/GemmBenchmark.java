package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Random;
import org.xformers4j.compute.cpu.Parallel;
import org.xformers4j.compute.cpu.Sgemm;

/** Times square SGEMMs with the SIMD and the scalar kernel on the same operands and pool. */
final class GemmBenchmark {

    /** Median GFLOP/s of each kernel; {@code simdGflops} is null without the Vector API. */
    record Result(Double simdGflops, double scalarGflops) {
    }

    /** Warm-up lasts at least this long per kernel (C2 must have compiled the kernel)... */
    private static final long WARMUP_NANOS = 1_000_000_000L;
    /** ...and at least this many calls. */
    private static final int WARMUP_MIN_CALLS = 3;

    private GemmBenchmark() {
    }

    static Result run(int n, int threads, int runs, PrintStream log) {
        Random random = new Random(1234);
        float[] a = new float[n * n];
        float[] b = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextFloat() - 0.5f;
            b[i] = random.nextFloat() - 0.5f;
        }
        float[] c = new float[n * n];
        Parallel parallel = new Parallel(threads);
        Sgemm best = Sgemm.best();
        Double simd = null;
        if (best.name().equals("simd")) {
            simd = gflops(best, n, a, b, c, parallel, runs, log);
        } else {
            log.println("bench gemm: jdk.incubator.vector is not in the boot layer; skipping the SIMD kernel");
        }
        double scalar = gflops(Sgemm.scalar(), n, a, b, c, parallel, runs, log);
        return new Result(simd, scalar);
    }

    private static double gflops(Sgemm kernel, int n, float[] a, float[] b, float[] c, Parallel parallel,
                                 int runs, PrintStream log) {
        log.println("bench gemm: warming up " + kernel.name() + " (" + n + "x" + n + ", " + parallel.threads() + " threads)");
        long start = System.nanoTime();
        for (int calls = 0; calls < WARMUP_MIN_CALLS || System.nanoTime() - start < WARMUP_NANOS; calls++) {
            multiply(kernel, n, a, b, c, parallel);
        }
        double[] seconds = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            multiply(kernel, n, a, b, c, parallel);
            seconds[r] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(seconds);
        double median = runs % 2 == 1 ? seconds[runs / 2] : (seconds[runs / 2 - 1] + seconds[runs / 2]) / 2;
        double g = 2.0 * n * n * (double) n / median / 1e9;
        log.println(String.format(java.util.Locale.ROOT, "bench gemm: %s median %.3f ms, %.2f GFLOP/s",
                kernel.name(), median * 1e3, g));
        return g;
    }

    private static void multiply(Sgemm kernel, int n, float[] a, float[] b, float[] c, Parallel parallel) {
        kernel.gemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n, parallel);
    }
}
