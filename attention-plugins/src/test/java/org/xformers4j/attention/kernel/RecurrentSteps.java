package org.xformers4j.attention.kernel;

import static org.xformers4j.attention.AttentionCases.paddedContext;
import static org.xformers4j.attention.AttentionCases.toDouble;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.xformers4j.component.attention.RecurrentAttention;
import org.xformers4j.tensor.GradCheck;
import org.xformers4j.tensor.Tensor;

/**
 * The recurrent step of a kernel attention against its float64 reference over every key: a first
 * step over {@value #PAST} positions makes the state (its inputs are constants), and a second step
 * over {@value #NEW} positions continuing it must give, values and gradients of its inputs alike
 * (finite differences of the reference), the attention of its queries over the earlier and new keys
 * together, with a padded key among the earlier ones and one among the new ones.
 */
final class RecurrentSteps {

    static final int PAST = 4;
    static final int NEW = 3;

    /** A mechanism's attention in double precision over {@code lk} keys, queries end-aligned when causal. */
    interface Reference {
        double[] apply(double[] q, double[] k, double[] v, int lq, int lk, boolean causal, boolean[][] padded);
    }

    private RecurrentSteps() {
    }

    /** Checks the second step of {@code attention} for q, k [b, h, ·, d] and v [b, h, ·, dv]. */
    static void checkContinuingAState(String name, RecurrentAttention attention, Reference reference, int b, int h,
                                      int d, int dv, boolean causal, long seed) {
        boolean[][] padded = new boolean[b][PAST + NEW];
        padded[b - 1][1] = true;
        padded[b - 1][PAST + 1] = true;
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor k0 = Tensor.randn(rng, b, h, PAST, d);
        Tensor v0 = Tensor.randn(rng, b, h, PAST, dv);
        List<Tensor> state = attention.step(Tensor.randn(rng, b, h, PAST, d), k0, v0,
                paddedContext(columns(padded, 0, PAST), causal), null).state();
        double[] pastKeys = toDouble(k0.toFloatArray());
        double[] pastValues = toDouble(v0.toFloatArray());
        var context = paddedContext(columns(padded, PAST, PAST + NEW), causal);
        GradCheck.of(name + (causal ? " causal" : " non-causal") + " step continuing a state of " + PAST + " keys",
                in -> attention.step(in[0], in[1], in[2], context, state).output(),
                ref -> reference.apply(ref[0], concatLength(pastKeys, ref[1], b * h, d),
                        concatLength(pastValues, ref[2], b * h, dv), NEW, PAST + NEW, causal, padded),
                GradCheck.input(rng, b, h, NEW, d), GradCheck.input(rng, b, h, NEW, d),
                GradCheck.input(rng, b, h, NEW, dv)).check();
    }

    /** Columns {@code from} … {@code to - 1} of {@code padded}. */
    private static boolean[][] columns(boolean[][] padded, int from, int to) {
        return Arrays.stream(padded).map(row -> Arrays.copyOfRange(row, from, to)).toArray(boolean[][]::new);
    }

    /** [rows, PAST, dim] followed by [rows, NEW, dim] along the length: [rows, PAST + NEW, dim]. */
    private static double[] concatLength(double[] past, double[] added, int rows, int dim) {
        double[] out = new double[rows * (PAST + NEW) * dim];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(past, r * PAST * dim, out, r * (PAST + NEW) * dim, PAST * dim);
            System.arraycopy(added, r * NEW * dim, out, (r * (PAST + NEW) + PAST) * dim, NEW * dim);
        }
        return out;
    }
}
