package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xformers4j.bench.AttentionBenchmark;
import org.xformers4j.bench.GemmBenchmark;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.UsageException;

/**
 * {@code xformers4j bench <target> ...}: micro benchmarks of the GEMM kernels and of attention
 * mechanisms. The command reads its options and prints; what it runs is in {@code it/bench}
 * ({@link GemmBenchmark#run}, {@link AttentionBenchmark#run}, {@link org.xformers4j.bench.AttentionSweep}).
 */
final class BenchCommand implements Command {

    private final Map<String, Command> targets = new LinkedHashMap<>();

    BenchCommand() {
        for (Command target : new Command[] {new GemmBench(), new AttentionBench(), new AttentionSweepCommand()}) {
            targets.put(target.name(), target);
        }
    }

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "micro benchmarks (bench gemm: SGEMM kernels; bench attention: one attention mechanism; "
                + "bench attention-sweep: mechanisms next to flash over doubling lengths)";
    }

    @Override
    public String usage() {
        StringBuilder sb = new StringBuilder("usage: xformers4j bench <target> [options]\n\ntargets:\n");
        for (Command c : targets.values()) {
            sb.append(String.format("  %-16s %s%n", c.name(), c.summary()));
        }
        for (Command c : targets.values()) {
            sb.append('\n').append(c.usage()).append('\n');
        }
        return sb.toString().stripTrailing();
    }

    /** The usage of the target {@code args} name, or of every target. */
    @Override
    public String usageFor(List<String> args) {
        Command target = args.isEmpty() ? null : targets.get(args.get(0));
        return target == null ? usage() : target.usage();
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        if (args.isEmpty()) {
            throw new UsageException("missing benchmark target (one of " + String.join(", ", targets.keySet()) + ")");
        }
        Command target = targets.get(args.get(0));
        if (target == null) {
            throw new UsageException("unknown benchmark target '" + args.get(0) + "' (one of "
                    + String.join(", ", targets.keySet()) + ")");
        }
        return target.run(args.subList(1, args.size()), out, err);
    }

    /** {@code bench gemm --size N --threads T [--runs R] [--json]}. */
    static final class GemmBench implements Command {

        private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
                .values("--size", "--threads", "--runs").flags("--json");

        @Override
        public String name() {
            return "gemm";
        }

        @Override
        public String summary() {
            return "N x N float32 matrix multiply, SIMD vs scalar kernel";
        }

        @Override
        public String usage() {
            return "usage: xformers4j bench gemm [--size N] [--threads T] [--runs R] [--json]\n"
                    + "  --size N     matrix size, N x N times N x N (default 1024)\n"
                    + "  --threads T  threads of the CPU pool (default: available processors, "
                    + Runtime.getRuntime().availableProcessors() + ")\n"
                    + "  --runs R     timed runs per kernel after warm-up; the median is reported (default 10)\n"
                    + "  --json       print one JSON object on stdout:\n"
                    + "               {\"size\":N,\"threads\":T,\"simd_gflops\":x|null,\"scalar_gflops\":y}\n"
                    + "GFLOP/s = 2 N^3 / seconds. simd needs the JVM option --add-modules jdk.incubator.vector.";
        }

        @Override
        public int run(List<String> args, PrintStream out, PrintStream err) {
            CommandLine line = SYNTAX.parse(args);
            int size = line.positiveInteger("--size", 1024);
            int threads = line.positiveInteger("--threads", Runtime.getRuntime().availableProcessors());
            int runs = line.positiveInteger("--runs", 10);
            boolean json = line.flag("--json");
            if ((long) size * size > Integer.MAX_VALUE - 16) {
                throw new UsageException("--size " + size + " is too large (N*N must fit a Java array)");
            }
            GemmBenchmark.Result result = GemmBenchmark.run(size, threads, runs, err);
            out.print(json ? result.json() + System.lineSeparator() : result.text());
            return 0;
        }
    }

    /** {@code bench attention --impl NAME [--option NAME=VALUE]... [--batch B] [--heads H] [--length N] [--dim D] [--backward] [--causal] [--runs R] [--warmup W] [--json]}. */
    static final class AttentionBench implements Command {

        private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
                .values("--impl", "--batch", "--heads", "--length", "--dim", "--runs", "--warmup")
                .flags("--backward", "--causal", "--json").repeatable("--option");

        @Override
        public String name() {
            return "attention";
        }

        @Override
        public String summary() {
            return "one attention mechanism on random [batch, heads, length, dim] inputs";
        }

        @Override
        public String usage() {
            return "usage: xformers4j bench attention --impl NAME [--option NAME=VALUE]... [--batch B] [--heads H]\n"
                    + "                                  [--length N] [--dim D] [--backward] [--causal] [--runs R]\n"
                    + "                                  [--warmup W] [--json]\n"
                    + "  --impl NAME  the attention component, e.g. full or flash (xformers4j info lists them)\n"
                    + "  --option NAME=VALUE  one of its hyperparameters (xformers4j describe NAME lists them), repeatable;\n"
                    + "               a mechanism whose length is bounded (linformer's maxLength) is built for --length\n"
                    + "  --batch B    batch size (default 1)\n"
                    + "  --heads H    heads (default 8)\n"
                    + "  --length N   sequence length of queries and keys (default 1024)\n"
                    + "  --dim D      head size (default 64)\n"
                    + "  --backward   time forward and backward instead of forward only\n"
                    + "  --causal     with a causal mask\n"
                    + "  --runs R     timed runs after warm-up; the median is reported (default 5)\n"
                    + "  --warmup W   untimed calls first, lasting at least a second (default 2; 0: none, for long runs)\n"
                    + "  --json       print one JSON object on stdout: {\"impl\":NAME,\"batch\":B,\"heads\":H,\"length\":N,\n"
                    + "               \"dim\":D,\"backward\":b,\"causal\":c,\"ms\":x,\"gflops\":y|null,\"peak_bytes\":z}\n"
                    + "GFLOP/s by the mechanism's own FLOP count (its javadoc gives the formula; 4 B H N^2 D forward for\n"
                    + "flash, as FlashAttention-2 counts), null for a mechanism that does not count its FLOPs.\n"
                    + "peak_bytes: the most tensor memory the backend held during the last timed call beyond what it held\n"
                    + "before.\n"
                    + "Threads: -Dxformers4j.cpu.threads=T in XFORMERS4J_JAVA_OPTS.";
        }

        @Override
        public int run(List<String> args, PrintStream out, PrintStream err) {
            CommandLine line = SYNTAX.parse(args);
            String impl = line.required("--impl").strip();
            if (impl.isEmpty()) {
                throw new UsageException("--impl is required");
            }
            AttentionBenchmark.Config config = new AttentionBenchmark.Config(impl, line.pairs("--option"),
                    line.positiveInteger("--batch", 1), line.positiveInteger("--heads", 8),
                    line.positiveInteger("--length", 1024), line.positiveInteger("--dim", 64), line.flag("--backward"),
                    line.flag("--causal"), line.positiveInteger("--runs", 5),
                    line.nonNegativeInteger("--warmup", AttentionBenchmark.WARMUP_MIN_CALLS));
            if ((long) config.batch() * config.heads() * config.length() * config.dim() > Integer.MAX_VALUE - 16) {
                throw new UsageException("--batch x --heads x --length x --dim = " + (long) config.batch()
                        * config.heads() * config.length() * config.dim() + " elements does not fit a tensor");
            }
            AttentionBenchmark.Result result = AttentionBenchmark.run(config, err);
            out.print(line.flag("--json") ? AttentionBenchmark.json(config, result) + System.lineSeparator()
                    : AttentionBenchmark.text(config, result));
            return 0;
        }
    }
}
