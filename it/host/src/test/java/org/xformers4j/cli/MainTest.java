package org.xformers4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.component.attention.FlopCount;
import org.xformers4j.host.OsgiHost;
import org.xformers4j.registry.ComponentRegistry;

class MainTest {

    /** Exit code, stdout and stderr of one command line. */
    record Outcome(int code, String out, String err) {
    }

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, o, e);
        }
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void benchGemmJsonIsOneObjectWithTheDocumentedFields() {
        Outcome r = run("bench", "gemm", "--size", "64", "--threads", "2", "--runs", "3", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        String json = r.out().strip();
        assertThat(r.out().lines().count()).isEqualTo(1);
        boolean simd = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        String number = "[0-9]+(\\.[0-9]+)?";
        Matcher m = Pattern.compile("\\{\"size\":64,\"threads\":2,\"simd_gflops\":(" + number + "|null),\"scalar_gflops\":(" + number + ")}")
                .matcher(json);
        assertThat(m.matches()).as(json).isTrue();
        if (simd) {
            assertThat(Double.parseDouble(m.group(1))).isPositive();
        } else {
            assertThat(m.group(1)).isEqualTo("null");
        }
        assertThat(Double.parseDouble(m.group(3))).isPositive();
        assertThat(r.err()).contains("bench gemm:");
    }

    @Test
    void benchGemmTextReportsBothKernels() {
        Outcome r = run("bench", "gemm", "--size=48", "--threads=1", "--runs=1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("gemm 48x48x48").contains("simd:").contains("scalar:").contains("GFLOP/s");
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        Outcome r = run("bench", "gemm", "--size", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--size").contains("'0'").contains("usage:");
        r = run("bench", "gemm", "--threads", "two");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--threads").contains("'two'");
        r = run("bench", "gemm", "--size");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("xformers4j bench: --size needs a value")
                .as("the usage of the target only").contains("usage: xformers4j bench gemm").doesNotContain("targets:");
        r = run("bench", "gemm", "--frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("xformers4j bench: unexpected argument '--frobnicate'");
        r = run("bench", "gemm", "--runs", "-3");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--runs").contains("'-3'");
        r = run("bench", "matmul");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown benchmark target 'matmul'").contains("targets:");
        r = run("bench");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void benchAttentionJsonIsOneObjectWithTheDocumentedFields() {
        Outcome r = run("bench", "attention", "--impl", "full", "--batch", "1", "--heads", "2", "--length", "64",
                "--dim", "8", "--runs", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().lines().count()).isEqualTo(1);
        String number = "[0-9]+(\\.[0-9]+)?";
        Matcher m = Pattern.compile("\\{\"impl\":\"full\",\"batch\":1,\"heads\":2,\"length\":64,\"dim\":8,"
                + "\"backward\":false,\"causal\":false,\"ms\":(" + number + "),\"gflops\":(" + number + "),"
                + "\"peak_bytes\":([0-9]+)}").matcher(r.out().strip());
        assertThat(m.matches()).as(r.out()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isPositive();
        assertThat(Double.parseDouble(m.group(3))).isPositive();
        // the 2 x 64 x 64 scores alone are 32 KiB
        assertThat(Long.parseLong(m.group(5))).isGreaterThanOrEqualTo(2 * 64 * 64 * Float.BYTES);
        assertThat(r.err()).contains("bench attention: warming up full");
    }

    /** The FLOPs of one forward call of {@code impl} by its own count, as the bench configures it. */
    private static double forwardFlops(String impl, int heads, int length, int dim) {
        AttentionMechanism mechanism = ComponentRegistry.standalone().create(AttentionMechanism.class, impl, Map.of());
        return ((FlopCount) mechanism).forwardFlops(FlopCount.Shape.self(1, heads, length, dim, false));
    }

    @Test
    void benchAttentionReportsGflopsByTheMechanismsOwnCount() {
        for (String impl : new String[] {"linear", "sliding-window"}) {
            Outcome r = run("bench", "attention", "--impl", impl, "--heads", "2", "--length", "64", "--dim", "8",
                    "--runs", "1", "--json");
            assertThat(r.code()).as(r.err()).isZero();
            Matcher m = Pattern.compile(".*\"ms\":([0-9.]+),\"gflops\":([0-9.]+),.*").matcher(r.out().strip());
            assertThat(m.matches()).as(r.out()).isTrue();
            double ms = Double.parseDouble(m.group(1));
            // both printed to 5 significant digits
            assertThat(Double.parseDouble(m.group(2))).as(impl)
                    .isCloseTo(forwardFlops(impl, 2, 64, 8) / ms / 1e6, withinPercentage(0.02));
        }
        Outcome text = run("bench", "attention", "--impl=linear", "--heads=1", "--length=8", "--dim=4", "--runs=1");
        assertThat(text.out()).contains("GFLOP/s (by its own FLOP count)");
    }

    @Test
    void benchAttentionTextReportsTimeThroughputAndMemory() {
        Outcome r = run("bench", "attention", "--impl=full", "--heads=1", "--length=8", "--dim=4", "--runs=2",
                "--backward", "--causal");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("attention full, batch 1, heads 1, length 8, dim 4, causal, forward+backward, "
                + "median of 2 runs").contains("  time:").contains("GFLOP/s").contains("  peak extra:");
    }

    @Test
    void benchAttentionPassesOptionsAndBuildsALengthBoundMechanismForTheLength() {
        // linformer's default maxLength is 128: the bench sets it to --length, and --option sets k
        Outcome r = run("bench", "attention", "--impl", "linformer", "--option", "k=16", "--option",
                "sharing=LAYERWISE", "--heads", "1", "--length", "256", "--dim", "4", "--runs", "1", "--warmup",
                "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile(".*\"ms\":([0-9.]+),\"gflops\":([0-9.]+),.*").matcher(r.out().strip());
        assertThat(m.matches()).as(r.out()).isTrue();
        AttentionMechanism k16 = ComponentRegistry.standalone().create(AttentionMechanism.class, "linformer",
                Map.of("k", "16", "maxLength", "256"));
        assertThat(Double.parseDouble(m.group(2))).isCloseTo(((FlopCount) k16).forwardFlops(
                FlopCount.Shape.self(1, 1, 256, 4, false)) / Double.parseDouble(m.group(1)) / 1e6,
                withinPercentage(0.02));
        Outcome explicit = run("bench", "attention", "--impl", "linformer", "--option", "maxLength=64", "--length",
                "256", "--heads", "1", "--dim", "4", "--runs", "1", "--warmup", "0");
        assertThat(explicit.code()).isEqualTo(1);
        assertThat(explicit.err()).contains("256").contains("maxLength 64");
        Outcome malformed = run("bench", "attention", "--impl", "linformer", "--option", "k");
        assertThat(malformed.code()).isEqualTo(2);
        assertThat(malformed.err()).contains("xformers4j bench: --option must be NAME=VALUE, got 'k'");
        Outcome twice = run("bench", "attention", "--impl", "linformer", "--option", "k=4", "--option", "k=8");
        assertThat(twice.code()).isEqualTo(2);
        assertThat(twice.err()).contains("--option k given twice");
        Outcome unknown = run("bench", "attention", "--impl", "linear", "--option", "window=3", "--length", "8");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("window").doesNotContain("\tat ");
        Outcome badChoice = run("bench", "attention", "--impl", "linformer", "--option", "sharing=kw", "--length", "8");
        assertThat(badChoice.code()).isEqualTo(1);
        assertThat(badChoice.err()).contains("linformer.sharing = kw is not one of NONE | HEADWISE | KV | LAYERWISE")
                .doesNotContain("\tat ");
    }

    @Test
    void benchAttentionSweepPrintsATablePerMaskWithTheCrossovers() {
        Outcome r = run("bench", "attention-sweep", "--impl", "nystrom", "--from", "8", "--to", "16", "--heads", "1",
                "--dim", "4", "--runs", "1", "--mask", "causal");
        assertThat(r.code()).as(r.err()).isZero();
        String out = r.out().replace(System.lineSeparator(), "\n");
        assertThat(out).startsWith("attention sweep: batch 1, heads 1, dim 4, forward, lengths 8 to 16")
                .contains("\ncausal\n  length  flash").contains("nystrom").contains("—, not causal")
                .contains("crossover with flash (causal):\n  nystrom  not measured next to flash")
                .doesNotContain("non-causal");
        assertThat(r.err()).contains("bench attention: warming up flash").doesNotContain("warming up nystrom");
        Outcome json = run("bench", "attention-sweep", "--impl=hydra", "--from=8", "--to=8", "--heads=1", "--dim=4",
                "--runs=1", "--mask=none", "--json");
        assertThat(json.code()).as(json.err()).isZero();
        assertThat(json.out().lines().count()).isEqualTo(1);
        assertThat(json.out()).startsWith("{\"batch\":1,\"heads\":1,\"dim\":4,\"backward\":false,\"runs\":1,")
                .contains("{\"impl\":\"hydra\",\"causal\":false,\"length\":8,\"status\":\"measured\",\"ms\":")
                .contains("\"crossovers\":[{\"impl\":\"hydra\",\"causal\":false,\"result\":");
    }

    @Test
    void benchAttentionSweepRunsAMechanismOncePerLayoutDensity() {
        Outcome r = run("bench", "attention-sweep", "--impl", "block-sparse:pattern=RANDOM:blockSize=4", "--density",
                "0.5,1", "--from", "16", "--to", "16", "--heads", "1", "--dim", "4", "--runs", "1", "--mask", "none");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("block-sparse:pattern=RANDOM:blockSize=4:density=0.5")
                .contains("block-sparse:pattern=RANDOM:blockSize=4:density=1").doesNotContain("failed");
        r = run("bench", "attention-sweep", "--impl", "block-sparse", "--density", "0.5,2");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--density must be numbers in (0, 1], got 2");
    }

    @Test
    void benchAttentionSweepRejectsBadArgumentsBeforeRunningAnything() {
        Outcome r = run("bench", "attention-sweep", "--impl", "linear", "--mask", "sideways");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("xformers4j bench: --mask must be none, causal or both, got 'sideways'");
        r = run("bench", "attention-sweep", "--impl", "linear", "--from", "4096", "--to", "1024");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--to 1024 is shorter than --from 4096");
        r = run("bench", "attention-sweep", "--impl", "linear,,performer");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("empty name");
        r = run("bench", "attention-sweep", "--from", "8");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("xformers4j bench: --impl is required").contains("usage: xformers4j bench attention-sweep");
        r = run("bench", "attention-sweep", "--impl", "lineer", "--from", "8", "--to", "8");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("unknown component 'lineer'").doesNotContain("warming up");
    }

    @Test
    void benchAttentionRejectsBadArgumentsNamingThem() {
        Outcome r = run("bench", "attention", "--length", "8");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("xformers4j bench: --impl is required").contains("usage: xformers4j bench attention");
        r = run("bench", "attention", "--impl", "full", "--heads", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--heads").contains("'0'");
        r = run("bench", "attention", "--impl", "full", "--window", "3");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unexpected argument '--window'");
        r = run("bench", "attention", "--impl", "ful", "--length", "8", "--runs", "1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("unknown component 'ful'").contains("full");
        r = run("bench", "attention", "--impl", "sinusoidal", "--length", "8", "--runs", "1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("sinusoidal");
    }

    /**
     * Without bundles the host-local commands still work and everything else fails with the reason;
     * it/tests covers the command services of the real bundles.
     */
    @Test
    void withoutBundlesOnlyHostLocalCommandsRun(@TempDir Path dir) {
        Path missing = dir.resolve("no-bundles");
        String before = System.getProperty(OsgiHost.BUNDLES_PROPERTY);
        System.setProperty(OsgiHost.BUNDLES_PROPERTY, missing.toString());
        try {
            Outcome r = run("frob");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).contains("xformers4j frob:").contains(missing.toString()).contains("does not exist");
            r = run();
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("usage: xformers4j").contains("bench").contains("commands are unavailable");
            r = run("--help");
            assertThat(r.code()).isZero();
            assertThat(r.out()).contains("usage: xformers4j").contains("bench");
            r = run("bench", "gemm", "--help");
            assertThat(r.code()).isZero();
            assertThat(r.out()).contains("--size").contains("--threads").contains("--json");
        } finally {
            if (before == null) {
                System.clearProperty(OsgiHost.BUNDLES_PROPERTY);
            } else {
                System.setProperty(OsgiHost.BUNDLES_PROPERTY, before);
            }
        }
    }
}
