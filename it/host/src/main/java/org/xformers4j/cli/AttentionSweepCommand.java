package org.xformers4j.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.xformers4j.bench.AttentionSweep;
import org.xformers4j.bench.SweepReport;
import org.xformers4j.registry.CommandLine;
import org.xformers4j.registry.UsageException;

/**
 * {@code bench attention-sweep --impl A,B [...]}: the time and peak memory of each mechanism next
 * to {@code flash} at lengths 1K … 64K, without and with a causal mask, and the length from which
 * each is faster than {@code flash}. The command reads its options into an {@link AttentionSweep.Plan}
 * and prints the {@link SweepReport}; {@code it/bench} runs the sweep ({@link AttentionSweep}) and
 * finds the crossovers ({@link org.xformers4j.bench.Crossover}).
 */
final class AttentionSweepCommand implements Command {

    private static final CommandLine.Syntax SYNTAX = CommandLine.syntax()
            .values("--impl", "--density", "--from", "--to", "--batch", "--heads", "--dim", "--mask", "--max-seconds", "--runs")
            .flags("--backward", "--json");

    @Override
    public String name() {
        return "attention-sweep";
    }

    @Override
    public String summary() {
        return "mechanisms next to flash over doubling lengths, with the crossover where each gets faster";
    }

    @Override
    public String usage() {
        return "usage: xformers4j bench attention-sweep --impl NAMES [--density D,…] [--from N] [--to N] [--batch B]\n"
                + "                                        [--heads H] [--dim D] [--mask none|causal|both] [--backward]\n"
                + "                                        [--max-seconds S] [--runs R] [--json]\n"
                + "  --impl NAMES     comma-separated attention components to compare with flash, e.g.\n"
                + "                   linear,performer,nystrom (flash is always run, first); NAME:OPTION=VALUE:…\n"
                + "                   sets hyperparameters, e.g. block-sparse:pattern=RANDOM:blockSize=64\n"
                + "  --density D,…    run each mechanism once per layout density D in (0, 1] (its 'density'\n"
                + "                   option: block-sparse with pattern=RANDOM), e.g. 0.1,0.25,0.5,1\n"
                + "  --from N         shortest length (default 1024); lengths double from it\n"
                + "  --to N           longest length (default 65536)\n"
                + "  --batch B        batch size (default 1)\n"
                + "  --heads H        heads (default 8)\n"
                + "  --dim D          head size (default 64)\n"
                + "  --mask M         none, causal or both (default both); a mechanism that refuses a causal\n"
                + "                   mask shows '—, not causal'\n"
                + "  --backward       time forward and backward instead of forward only\n"
                + "  --max-seconds S  per-call budget (default 60): a mechanism whose median call at a length\n"
                + "                   takes longer is not run at the longer ones ('—, over budget')\n"
                + "  --runs R         timed runs per cell after warm-up; the median is reported (default 3)\n"
                + "  --json           print one JSON object on stdout: {\"batch\":B,...,\"cells\":[{\"impl\":NAME,\n"
                + "                   \"causal\":c,\"length\":N,\"status\":\"measured\"|\"over-budget\"|\"not-causal\"|\n"
                + "                   \"failed\"|\"after-failure\",\"ms\":x|null,\"gflops\":y|null,\"peak_bytes\":z|null,\n"
                + "                   \"detail\":s}],\"crossovers\":[{\"impl\":NAME,\"causal\":c,\"result\":\"crosses\"|\n"
                + "                   \"faster-throughout\"|\"none\"|\"not-measured\",\"length\":x|null,\"slower_at\":N|null,\n"
                + "                   \"faster_from\":N|null,\"longest_common\":N|null}]}\n"
                + "Each cell is one 'bench attention' run. The crossover is the length from which the mechanism is\n"
                + "faster than flash at every longer length measured, interpolated in log-log between the two\n"
                + "measured lengths around it, from cells where both were measured only.";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        CommandLine line = SYNTAX.parse(args);
        String names = line.required("--impl");
        List<String> impls = new ArrayList<>(List.of(AttentionSweep.BASELINE));
        for (String impl : names.split(",")) {
            String name = impl.trim();
            if (name.isEmpty()) {
                throw new UsageException("--impl has an empty name in '" + names + "'");
            }
            String densities = name.equals(AttentionSweep.BASELINE) ? null : line.value("--density", null);
            for (String label : withDensities(name, densities)) {
                if (!impls.contains(label)) {
                    impls.add(label);
                }
            }
        }
        int from = line.positiveInteger("--from", 1024);
        int to = line.positiveInteger("--to", 65536);
        if (to < from) {
            throw new UsageException("--to " + to + " is shorter than --from " + from);
        }
        AttentionSweep.Plan plan = new AttentionSweep.Plan(impls, line.positiveInteger("--batch", 1),
                line.positiveInteger("--heads", 8), line.positiveInteger("--dim", 64), from, to,
                masks(line.value("--mask", "both").strip()), line.flag("--backward"), line.positiveInteger("--runs", 3),
                line.positiveInteger("--max-seconds", 60));
        List<AttentionSweep.Cell> cells = AttentionSweep.run(plan, err);
        out.print(line.flag("--json") ? SweepReport.json(plan, cells) + System.lineSeparator()
                : SweepReport.text(plan, cells));
        return 0;
    }

    /** {@code impl} once per density of {@code densities} (comma-separated), or as it is without any. */
    private static List<String> withDensities(String impl, String densities) {
        if (densities == null) {
            return List.of(impl);
        }
        List<String> labels = new ArrayList<>();
        for (String d : densities.split(",")) {
            double density;
            try {
                density = Double.parseDouble(d.strip());
            } catch (NumberFormatException e) {
                throw new UsageException("--density must be numbers in (0, 1], got '" + d.strip() + "'");
            }
            if (!(density > 0 && density <= 1)) {
                throw new UsageException("--density must be numbers in (0, 1], got " + d.strip());
            }
            labels.add(impl + ":density=" + d.strip());
        }
        return labels;
    }

    private static List<Boolean> masks(String mask) {
        return switch (mask) {
            case "none" -> List.of(false);
            case "causal" -> List.of(true);
            case "both" -> List.of(false, true);
            default -> throw new UsageException("--mask must be none, causal or both, got '" + mask + "'");
        };
    }
}
