package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The one GEMM benchmark: the multiply JMH times is C = A * B, and the result of the quick driver
 * behind {@code xformers4j bench gemm} prints as the command documents ({@code MainTest} in it/host
 * runs it end to end).
 */
class GemmBenchmarkTest {

    private static GemmBenchmark state(String kernel, int size) {
        GemmBenchmark bench = new GemmBenchmark();
        bench.size = size;
        bench.kernel = kernel;
        bench.threads = 1;
        bench.setUp();
        return bench;
    }

    @Test
    void everyKernelMultipliesTheSameSeededOperands() {
        int n = 19;
        GemmBenchmark bench = state("scalar", n);
        // the kernels' arithmetic is plugin-api's to test; here: the benchmark multiplies the same seeded
        // operands every call, and both kernels compute the same product of them
        float[] first = bench.gemm().clone();
        assertThat(bench.gemm()).containsExactly(first);
        assertThat(first).as("a product of non-zero random matrices").isNotEqualTo(new float[n * n]);
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            float[] simd = state("simd", n).gemm();
            for (int i = 0; i < first.length; i++) {
                assertThat(simd[i]).isCloseTo(first[i], within(1e-4f));
            }
        }
    }

    @Test
    void anUnknownKernelIsRefused() {
        assertThatThrownBy(() -> state("cublas", 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kernel must be simd or scalar, got cublas");
    }

    @Test
    void theQuickDriverRefusesSizesThatDoNotFitAnArray() {
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> GemmBenchmark.run(50_000, 1, 1, log)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GemmBenchmark.run(8, 1, 0, log)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theResultPrintsAsJsonOrText() {
        GemmBenchmark.Result both = new GemmBenchmark.Result(64, 2, 3, 35.97912, 8.21);
        assertThat(both.json()).isEqualTo("{\"size\":64,\"threads\":2,\"simd_gflops\":35.979,\"scalar_gflops\":8.21}");
        String nl = System.lineSeparator();
        assertThat(both.text()).isEqualTo("gemm 64x64x64 float32, 2 thread(s), median of 3 runs after warm-up" + nl
                + "  simd:   35.979 GFLOP/s" + nl + "  scalar: 8.21 GFLOP/s" + nl + "  simd / scalar: 4.4x" + nl);
        GemmBenchmark.Result scalarOnly = new GemmBenchmark.Result(64, 2, 3, null, 8.21);
        assertThat(scalarOnly.json()).contains("\"simd_gflops\":null");
        assertThat(scalarOnly.text()).contains("  simd:   unavailable (start the JVM with --add-modules "
                + "jdk.incubator.vector)").doesNotContain("simd / scalar");
    }
}
