package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code xformers4j bench <what> ...}: micro benchmarks; for now {@code gemm}. */
final class BenchCommand implements Command {

    private final Map<String, Command> targets = new LinkedHashMap<>();

    BenchCommand() {
        Command gemm = new GemmBench();
        targets.put(gemm.name(), gemm);
    }

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "micro benchmarks (bench gemm: SGEMM GFLOP/s of the SIMD and scalar CPU kernels)";
    }

    @Override
    public String usage() {
        StringBuilder sb = new StringBuilder("usage: xformers4j bench <target> [options]\n\ntargets:\n");
        for (Command c : targets.values()) {
            sb.append(String.format("  %-8s %s%n", c.name(), c.summary()));
        }
        sb.append('\n').append(targets.get("gemm").usage());
        return sb.toString();
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        if (args.isEmpty()) {
            throw new UsageException("missing benchmark target (one of " + String.join(", ", targets.keySet()) + ")", usage());
        }
        Command target = targets.get(args.get(0));
        if (target == null) {
            throw new UsageException("unknown benchmark target '" + args.get(0) + "' (one of "
                    + String.join(", ", targets.keySet()) + ")", usage());
        }
        return target.run(args.subList(1, args.size()), out, err);
    }

    static String format(double x) {
        return String.format(Locale.ROOT, "%.2f", x);
    }

    /** {@code bench gemm --size N --threads T [--runs R] [--json]}. */
    static final class GemmBench implements Command {

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
        public int run(List<String> args, PrintStream out, PrintStream err) throws UsageException {
            Options o = Options.parse(args, Set.of("--size", "--threads", "--runs"), Set.of("--json"), usage());
            int size = o.positiveInt("--size", 1024);
            int threads = o.positiveInt("--threads", Runtime.getRuntime().availableProcessors());
            int runs = o.positiveInt("--runs", 10);
            boolean json = o.flag("--json");
            if ((long) size * size > Integer.MAX_VALUE - 16) {
                throw new UsageException("option --size " + size + " is too large (N*N must fit a Java array)", usage());
            }
            GemmBenchmark.Result r = GemmBenchmark.run(size, threads, runs, err);
            if (json) {
                out.println("{\"size\":" + size + ",\"threads\":" + threads
                        + ",\"simd_gflops\":" + (r.simdGflops() == null ? "null" : format(r.simdGflops()))
                        + ",\"scalar_gflops\":" + format(r.scalarGflops()) + "}");
            } else {
                out.println("gemm " + size + "x" + size + "x" + size + " float32, " + threads + " thread(s), median of "
                        + runs + " runs after warm-up");
                if (r.simdGflops() == null) {
                    out.println("  simd:   unavailable (start the JVM with --add-modules jdk.incubator.vector)");
                } else {
                    out.println("  simd:   " + format(r.simdGflops()) + " GFLOP/s");
                }
                out.println("  scalar: " + format(r.scalarGflops()) + " GFLOP/s");
                if (r.simdGflops() != null) {
                    out.println("  simd / scalar: " + String.format(Locale.ROOT, "%.1fx", r.simdGflops() / r.scalarGflops()));
                }
            }
            return 0;
        }
    }
}
