package org.xformers4j.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.xformers4j.component.ComponentDescriptor;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.registry.ComponentRegistry;

/**
 * The cells of {@code bench attention-sweep}: every requested mechanism, {@code flash} first, at
 * lengths doubling from {@code from} to {@code to}, without and with a causal mask, each cell one
 * {@link AttentionBenchmark} run. A mechanism whose median call at a length takes longer than the
 * per-call budget is not run at the longer lengths (quadratic attention would take hours at 64K on
 * a few cores), nor after a run that failed (out of memory, a tensor too large); a mechanism that
 * refuses a causal mask is not run with one. A mechanism may be named with hyperparameters
 * ({@link Impl}), and so run in several configurations side by side: {@code block-sparse} at several
 * layout densities.
 */
public final class AttentionSweep {

    /** The mechanism every other is compared with. */
    public static final String BASELINE = "flash";

    /** What became of one cell. */
    public enum Status {
        /** Run and measured. */
        MEASURED,
        /** Not run: a shorter length took longer than the budget. */
        OVER_BUDGET,
        /** Not run: the mechanism does not support a causal mask. */
        NOT_CAUSAL,
        /** Run, and it failed; {@link Cell#detail()} says how. */
        FAILED,
        /** Not run: a shorter length failed. */
        AFTER_FAILURE
    }

    /**
     * A mechanism of the sweep as its label names it: {@code NAME}, or {@code NAME:OPTION=VALUE:…}
     * with hyperparameters beyond its defaults (e.g. {@code block-sparse:pattern=RANDOM:density=0.1}).
     */
    public record Impl(String name, Map<String, String> options) {

        /**
         * Reads a label.
         *
         * @throws IllegalArgumentException for an option that is not {@code OPTION=VALUE}
         */
        public static Impl parse(String label) {
            String[] parts = label.split(":");
            Map<String, String> options = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("'" + label + "': '" + parts[i] + "' is not OPTION=VALUE");
                }
                options.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
            return new Impl(parts[0], Map.copyOf(options));
        }
    }

    /**
     * One mechanism at one length and mask.
     *
     * @param result the measurement when {@link Status#MEASURED}, else null
     * @param detail what went wrong when {@link Status#FAILED}, else empty
     */
    public record Cell(String impl, boolean causal, int length, Status status, AttentionBenchmark.Result result,
                String detail) {

        /** Whether the cell was run and measured. */
        public boolean measured() {
            return status == Status.MEASURED;
        }
    }

    /**
     * What to sweep.
     *
     * @param impls      the mechanisms' labels ({@link Impl}), {@code flash} (the baseline) first
     * @param masks      {@code false} for no mask, {@code true} for causal, in the order to run
     * @param maxSeconds the per-call budget: a mechanism slower than this is not run at longer lengths
     */
    public record Plan(List<String> impls, int batch, int heads, int dim, int from, int to, List<Boolean> masks,
                boolean backward, int runs, double maxSeconds) {

        /** {@code from}, doubled while at most {@code to}. */
        public List<Integer> lengths() {
            List<Integer> out = new ArrayList<>();
            for (long n = from; n <= to; n *= 2) {
                out.add((int) n);
            }
            return out;
        }

        /** The benchmark of one cell. */
        public AttentionBenchmark.Config config(String impl, int length, boolean causal) {
            Impl mechanism = Impl.parse(impl);
            return new AttentionBenchmark.Config(mechanism.name(), mechanism.options(), batch, heads, length, dim,
                    backward, causal, runs, AttentionBenchmark.WARMUP_MIN_CALLS);
        }
    }

    private AttentionSweep() {
    }

    /**
     * Runs the plan: looks up which mechanisms honour a causal mask (failing an unknown name before
     * anything runs), then runs each cell with {@link AttentionBenchmark#run}, logging to {@code log}.
     *
     * @return every cell, by mask, then mechanism, then length
     * @throws IllegalArgumentException for a name that is not an attention component
     */
    public static List<Cell> run(Plan plan, PrintStream log) {
        Map<String, Boolean> causal = causalSupport(plan.impls());
        return run(plan, causal::get, config -> AttentionBenchmark.run(config, log));
    }

    /**
     * Whether each mechanism honours a causal mask, from its capabilities.
     *
     * @throws IllegalArgumentException for a name that is not an attention component
     */
    public static Map<String, Boolean> causalSupport(List<String> impls) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        ComponentRegistry registry = ComponentRegistry.standalone();
        for (String impl : impls) {
            Impl parsed = Impl.parse(impl);
            AttentionMechanism mechanism = registry.create(AttentionMechanism.class, parsed.name(), parsed.options());
            out.put(impl, ComponentDescriptor.of(mechanism.getClass()).capabilities(AttentionCapabilities.class)
                    .causal());
        }
        return out;
    }

    /**
     * Runs the plan.
     *
     * @param supportsCausal whether a mechanism honours a causal mask
     * @param bench          runs one cell (throws when the mechanism fails at that size)
     * @return every cell, by mask, then mechanism, then length
     */
    public static List<Cell> run(Plan plan, Predicate<String> supportsCausal,
                          Function<AttentionBenchmark.Config, AttentionBenchmark.Result> bench) {
        List<Cell> cells = new ArrayList<>();
        for (boolean causal : plan.masks()) {
            for (String impl : plan.impls()) {
                Status skip = causal && !supportsCausal.test(impl) ? Status.NOT_CAUSAL : null;
                for (int length : plan.lengths()) {
                    if (skip != null) {
                        cells.add(new Cell(impl, causal, length, skip, null, ""));
                        continue;
                    }
                    Cell cell = runCell(plan, impl, length, causal, bench);
                    cells.add(cell);
                    if (cell.status() == Status.FAILED) {
                        skip = Status.AFTER_FAILURE;
                    } else if (cell.result().ms() > plan.maxSeconds() * 1e3) {
                        skip = Status.OVER_BUDGET;
                    }
                }
            }
        }
        return cells;
    }

    private static Cell runCell(Plan plan, String impl, int length, boolean causal,
                                Function<AttentionBenchmark.Config, AttentionBenchmark.Result> bench) {
        try {
            return new Cell(impl, causal, length, Status.MEASURED, bench.apply(plan.config(impl, length, causal)), "");
        } catch (OutOfMemoryError e) {
            // the big buffers of the failed call are unreachable once it has unwound: the sweep can go on
            return new Cell(impl, causal, length, Status.FAILED, null, "out of memory");
        } catch (RuntimeException e) {
            return new Cell(impl, causal, length, Status.FAILED, null, String.valueOf(e.getMessage()));
        }
    }
}
