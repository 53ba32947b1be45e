package org.xformers4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xformers4j.bench.AttentionSweep.Cell;
import org.xformers4j.bench.AttentionSweep.Status;

/**
 * The sweep's budget, failure and mask rules, its crossovers and its output, on made-up
 * measurements (no timing: each cell's time is a function of the mechanism and the length).
 */
class AttentionSweepTest {

    /** Where linear attention's time equals flash's. */
    private static final double EQUAL = 5792.6;

    /** Milliseconds: flash ∝ N², linear ∝ N (equal at {@link #EQUAL}), anything else 1. */
    private static final Map<String, Function<Integer, Double>> MILLISECONDS = Map.of(
            "flash", n -> 1e-6 * n * n,
            "linear", n -> 1e-6 * EQUAL * n);

    private static AttentionSweep.Plan plan(List<String> impls, int from, int to, List<Boolean> masks,
                                            double maxSeconds) {
        return new AttentionSweep.Plan(impls, 1, 8, 64, from, to, masks, false, 3, maxSeconds);
    }

    /** Runs the plan on {@link #MILLISECONDS}, recording which cells ran. */
    private static List<Cell> sweep(AttentionSweep.Plan plan, List<String> ran) {
        return AttentionSweep.run(plan, impl -> !impl.equals("encoder-only"), config -> {
            ran.add(config.impl() + (config.causal() ? " causal " : " ") + config.length());
            if (config.impl().equals("fragile") && config.length() > 2048) {
                throw new IllegalArgumentException("too long");
            }
            double ms = MILLISECONDS.getOrDefault(config.impl(), n -> 1.0).apply(config.length());
            return new AttentionBenchmark.Result(ms, null, 1024L * config.length());
        });
    }

    private static Cell cell(List<Cell> cells, String impl, boolean causal, int length) {
        return cells.stream().filter(c -> c.impl().equals(impl) && c.causal() == causal && c.length() == length)
                .findFirst().orElseThrow();
    }

    @Test
    void aLabelWithOptionsRunsTheMechanismWithThem() {
        AttentionSweep.Plan plan = plan(List.of("flash", "block-sparse:pattern=RANDOM:density=0.1"), 8, 8,
                List.of(false), 60);
        AttentionBenchmark.Config config = plan.config(plan.impls().get(1), 8, false);
        assertThat(config.impl()).isEqualTo("block-sparse");
        assertThat(config.options()).containsExactlyInAnyOrderEntriesOf(Map.of("pattern", "RANDOM", "density", "0.1"));
        assertThat(plan.config("flash", 8, false).options()).isEmpty();
        List<Cell> cells = sweep(plan, new ArrayList<>());
        assertThat(cells).extracting(Cell::impl).contains("block-sparse:pattern=RANDOM:density=0.1");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AttentionSweep.Impl.parse("block-sparse:density"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'density' is not OPTION=VALUE");
    }

    @Test
    void lengthsDoubleFromTheShortestToAtMostTheLongest() {
        assertThat(plan(List.of("flash"), 1024, 65536, List.of(false), 60).lengths())
                .containsExactly(1024, 2048, 4096, 8192, 16384, 32768, 65536);
        assertThat(plan(List.of("flash"), 1000, 5000, List.of(false), 60).lengths()).containsExactly(1000, 2000, 4000);
    }

    @Test
    void aMechanismOverBudgetAtOneLengthIsNotRunAtTheLongerOnes() {
        List<String> ran = new ArrayList<>();
        // flash takes 1.0, 4.2, 16.8 ms from 1024 to 4096, linear 5.9, 11.9: a budget of 0.01 s stops both
        List<Cell> cells = sweep(plan(List.of("flash", "linear"), 1024, 8192, List.of(false), 0.01), ran);
        assertThat(ran).containsExactly("flash 1024", "flash 2048", "flash 4096", "linear 1024", "linear 2048");
        assertThat(cell(cells, "flash", false, 4096).status()).isEqualTo(Status.MEASURED);
        assertThat(cell(cells, "flash", false, 8192).status()).isEqualTo(Status.OVER_BUDGET);
        assertThat(cell(cells, "linear", false, 4096).status()).isEqualTo(Status.OVER_BUDGET);
        assertThat(cell(cells, "linear", false, 8192).status()).isEqualTo(Status.OVER_BUDGET);
        assertThat(cells).hasSize(8);
    }

    @Test
    void aFailureStopsTheMechanismAndARefusedCausalMaskIsNotRun() {
        List<String> ran = new ArrayList<>();
        List<Cell> cells = sweep(plan(List.of("flash", "fragile", "encoder-only"), 1024, 8192,
                List.of(false, true), 60), ran);
        assertThat(cell(cells, "fragile", false, 4096).status()).isEqualTo(Status.FAILED);
        assertThat(cell(cells, "fragile", false, 4096).detail()).isEqualTo("too long");
        assertThat(cell(cells, "fragile", false, 8192).status()).isEqualTo(Status.AFTER_FAILURE);
        assertThat(ran).doesNotContain("fragile 8192", "encoder-only causal 1024").contains("encoder-only 1024");
        assertThat(cell(cells, "encoder-only", true, 1024).status()).isEqualTo(Status.NOT_CAUSAL);
        assertThat(cell(cells, "encoder-only", false, 1024).status()).isEqualTo(Status.MEASURED);
    }

    @Test
    void theCrossoverIsInterpolatedInLogLogBetweenTheMeasuredLengthsAroundIt() {
        // linear / flash = EQUAL / N: 5.7, 2.8, 1.4 (slower) at 1024 to 4096, 0.71 (faster) at 8192; a power of
        // the length, so the log-log interpolation finds EQUAL exactly
        List<Cell> cells = sweep(plan(List.of("flash", "linear"), 1024, 8192, List.of(false), 60), new ArrayList<>());
        Crossover x = Crossover.of("linear", false, cells);
        assertThat(x.kind()).isEqualTo(Crossover.Kind.CROSSES);
        assertThat(x.below()).isEqualTo(4096);
        assertThat(x.above()).isEqualTo(8192);
        assertThat(x.length()).isCloseTo(EQUAL, within(1e-6));
        assertThat(x.describe()).isEqualTo("≈ 5793 (slower at 4096, faster from 8192 on)");
        // up to 4096 only: not faster yet
        List<Cell> shorter = sweep(plan(List.of("flash", "linear"), 1024, 4096, List.of(false), 60), new ArrayList<>());
        assertThat(Crossover.of("linear", false, shorter).describe()).isEqualTo("none up to 4096");
    }

    @Test
    void aMechanismThatIsFasterAndThenSlowerAgainHasNoCrossover() {
        List<Cell> cells = List.of(measured("flash", 1024, 2), measured("linear", 1024, 3),
                measured("flash", 2048, 4), measured("linear", 2048, 3), measured("flash", 4096, 8),
                measured("linear", 4096, 9));
        assertThat(Crossover.of("linear", false, cells).kind()).isEqualTo(Crossover.Kind.NONE);
    }

    @Test
    void crossoversUseOnlyLengthsWhereBothWereMeasured() {
        // flash over budget at 4096: linear's measurement there has nothing to be compared with
        List<Cell> cells = List.of(measured("flash", 1024, 1), measured("linear", 1024, 2),
                measured("flash", 2048, 4), measured("linear", 2048, 6),
                new Cell("flash", false, 4096, Status.OVER_BUDGET, null, ""), measured("linear", 4096, 10));
        Crossover x = Crossover.of("linear", false, cells);
        assertThat(x.kind()).isEqualTo(Crossover.Kind.NONE);
        assertThat(x.describe()).isEqualTo("none up to 2048");
        // faster everywhere, and never measured next to flash
        List<Cell> quick = List.of(measured("flash", 1024, 2), measured("linear", 1024, 1),
                measured("flash", 2048, 8), measured("linear", 2048, 2), measured("linear", 4096, 4));
        assertThat(Crossover.of("linear", false, quick).describe())
                .isEqualTo("faster at every length measured, from 1024");
        assertThat(Crossover.of("linear", true, quick).describe()).isEqualTo("not measured next to flash");
    }

    private static Cell measured(String impl, int length, double ms) {
        return new Cell(impl, false, length, Status.MEASURED, new AttentionBenchmark.Result(ms, null, 0), "");
    }

    @Test
    void theTableHasARowPerLengthAColumnPerMechanismAndTheCrossoversPerMask() {
        AttentionSweep.Plan plan = plan(List.of("flash", "linear", "encoder-only"), 1024, 4096, List.of(false, true),
                0.002);
        String text = SweepReport.text(plan, sweep(plan, new ArrayList<>()));
        // flash 1.0 then 4.2 ms: over the 2 ms budget after 2048; linear 5.9 ms: after 1024; encoder-only 1 ms
        assertThat(text).isEqualTo("""
                attention sweep: batch 1, heads 8, dim 64, forward, lengths 1024 to 4096, median of 3 run(s), at most \
                0.002 s per call
                (ms per call / peak extra MiB)

                non-causal
                  length  flash           linear          encoder-only
                    1024  1.0486 / 1.0    5.9316 / 1.0    1 / 1.0
                    2048  4.1943 / 2.0    —, over budget  1 / 2.0
                    4096  —, over budget  —, over budget  1 / 4.0
                crossover with flash (non-causal):
                  linear        none up to 1024
                  encoder-only  faster at every length measured, from 1024

                causal
                  length  flash           linear          encoder-only
                    1024  1.0486 / 1.0    5.9316 / 1.0    —, not causal
                    2048  4.1943 / 2.0    —, over budget  —, not causal
                    4096  —, over budget  —, over budget  —, not causal
                crossover with flash (causal):
                  linear        none up to 1024
                  encoder-only  not measured next to flash
                """.replace("\n", System.lineSeparator()));
    }

    @Test
    void jsonHasEveryCellAndCrossoverWithNullsForWhatWasNotMeasured() {
        // flash 4.2 ms at 2048 (within 5 ms), 16.8 at 4096; linear 11.9 at 2048 (over)
        AttentionSweep.Plan plan = plan(List.of("flash", "linear"), 2048, 4096, List.of(true), 0.005);
        List<Cell> cells = sweep(plan, new ArrayList<>());
        List<Cell> withFailure = new ArrayList<>(cells);
        withFailure.add(new Cell("linear", true, 8192, Status.FAILED, null, "said \"no\""));
        assertThat(SweepReport.json(plan, withFailure)).isEqualTo("{\"batch\":1,\"heads\":8,\"dim\":64,"
                + "\"backward\":false,\"runs\":3,\"max_seconds\":0.005,\"cells\":["
                + "{\"impl\":\"flash\",\"causal\":true,\"length\":2048,\"status\":\"measured\",\"ms\":4.1943,"
                + "\"gflops\":null,\"peak_bytes\":2097152,\"detail\":\"\"},"
                + "{\"impl\":\"flash\",\"causal\":true,\"length\":4096,\"status\":\"measured\",\"ms\":16.777,"
                + "\"gflops\":null,\"peak_bytes\":4194304,\"detail\":\"\"},"
                + "{\"impl\":\"linear\",\"causal\":true,\"length\":2048,\"status\":\"measured\",\"ms\":11.863,"
                + "\"gflops\":null,\"peak_bytes\":2097152,\"detail\":\"\"},"
                + "{\"impl\":\"linear\",\"causal\":true,\"length\":4096,\"status\":\"over-budget\",\"ms\":null,"
                + "\"gflops\":null,\"peak_bytes\":null,\"detail\":\"\"},"
                + "{\"impl\":\"linear\",\"causal\":true,\"length\":8192,\"status\":\"failed\",\"ms\":null,"
                + "\"gflops\":null,\"peak_bytes\":null,\"detail\":\"said \\\"no\\\"\"}],"
                + "\"crossovers\":[{\"impl\":\"linear\",\"causal\":true,\"result\":\"none\",\"length\":null,"
                + "\"slower_at\":null,\"faster_from\":null,\"longest_common\":2048}]}");
    }
}
