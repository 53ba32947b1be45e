package org.xformers4j.bench;

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
 * Square SGEMM, C = A * B with N x N float32 matrices, with the SIMD or the scalar CPU kernel.
 *
 * <p>Reports the average time per multiply; GFLOP/s = 2 N^3 / time. Run with
 * {@code java -jar it/bench/target/benchmarks.jar GemmBenchmark -p size=1024 -p kernel=simd}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    @Param({"256", "512", "1024"})
    public int size;

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

    @Benchmark
    public float[] gemm() {
        sgemm.gemm(false, false, size, size, size, 1f, a, 0, size, b, 0, size, 0f, c, 0, size, parallel);
        return c;
    }
}
