package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.registry.ComponentRegistry;

/** {@link AttentionBenchmark}'s FLOP count, the options it builds a mechanism with, and its output. */
class AttentionBenchmarkTest {

    @Test
    void forwardAndBackwardFlopsByTheMechanismsOwnCountOrNoneForAMechanismThatDoesNotCountThem() {
        AttentionMechanism flash = ComponentRegistry.standalone().create(AttentionMechanism.class, "flash", Map.of());
        FlopCount count = (FlopCount) flash;
        FlopCount.Shape shape = FlopCount.Shape.self(1, 8, 2048, 64, true);
        assertThat(AttentionBenchmark.flops(flash, new AttentionBenchmark.Config("flash", 1, 8, 2048, 64, false, true,
                1))).isEqualTo(count.forwardFlops(shape));
        assertThat(AttentionBenchmark.flops(flash, new AttentionBenchmark.Config("flash", 1, 8, 2048, 64, true, true,
                1))).isEqualTo(count.forwardFlops(shape) + count.backwardFlops(shape));
        AttentionMechanism uncounted = (q, k, v, context) -> v;
        assertThat(AttentionBenchmark.flops(uncounted, new AttentionBenchmark.Config("v", 1, 8, 2048, 64, true, true,
                1))).isNull();
    }

    @Test
    void aLengthBoundMechanismIsBuiltForTheLengthUnlessAnOptionSetsIt() {
        AttentionCapabilities linformer = ComponentRegistry.standalone().find("linformer").descriptor()
                .capabilities(AttentionCapabilities.class);
        AttentionBenchmark.Config config = new AttentionBenchmark.Config("linformer", Map.of("k", "16"), 1, 1, 256, 4,
                false, false, 1, 0);
        assertThat(AttentionBenchmark.options(config, linformer)).containsEntry("k", "16")
                .containsEntry(linformer.lengthOption(), "256");
        AttentionBenchmark.Config explicit = new AttentionBenchmark.Config("linformer",
                Map.of(linformer.lengthOption(), "64"), 1, 1, 256, 4, false, false, 1, 0);
        assertThat(AttentionBenchmark.options(explicit, linformer)).containsExactly(
                Map.entry(linformer.lengthOption(), "64"));
    }

    @Test
    void jsonAndTextReportTheConfigurationAndTheMeasurement() {
        AttentionBenchmark.Config config = new AttentionBenchmark.Config("flash", 1, 2, 16, 8, true, true, 3);
        AttentionBenchmark.Result result = new AttentionBenchmark.Result(0.0123456, 1.5, 3 * 1024 * 1024);
        assertThat(AttentionBenchmark.json(config, result)).isEqualTo("{\"impl\":\"flash\",\"batch\":1,\"heads\":2,"
                + "\"length\":16,\"dim\":8,\"backward\":true,\"causal\":true,\"ms\":0.012346,\"gflops\":1.5,"
                + "\"peak_bytes\":3145728}");
        assertThat(AttentionBenchmark.json(config, new AttentionBenchmark.Result(2, null, 0)))
                .contains("\"gflops\":null");
        String nl = System.lineSeparator();
        assertThat(AttentionBenchmark.text(config, result)).isEqualTo("attention flash, batch 1, heads 2, length 16, "
                + "dim 8, causal, forward+backward, median of 3 runs after warm-up" + nl
                + "  time:       0.012346 ms" + nl
                + "  throughput: 1.5 GFLOP/s (by its own FLOP count)" + nl
                + "  peak extra: 3.0 MiB (3145728 bytes)" + nl);
        assertThat(AttentionBenchmark.text(config, new AttentionBenchmark.Result(2, null, 0)))
                .contains("  throughput: not reported (the mechanism does not count its FLOPs)");
    }
}
