package org.xformers4j.component.conformance;

import java.util.Arrays;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;

/**
 * {@code bias-shift-invariant}, for encodings that produce an attention bias (hook 3): the bias
 * depends only on key position − query position (Shaw et al., 2018; Raffel et al., 2020, T5;
 * Press et al., 2022, ALiBi). Over {@value #POSITIONS} queries and keys, each entry equals the one
 * a position further along both axes; and the bias asked for a smaller problem (a single decoding
 * step, end-aligned queries, queries from 0 over more keys) equals the corresponding window of the
 * large one. Entries must agree to within {@value #TOLERANCE}·(1 + |entry|), or be the same
 * infinity; NaN and +∞ fail.
 */
final class BiasShiftInvariant implements PositionalCheck {

    static final int POSITIONS = 24;
    static final double TOLERANCE = 1e-5;

    /** The smaller problems: {queryLength, keyLength, queryOffset}. */
    private static final int[][] WINDOWS = {{1, POSITIONS, POSITIONS - 1}, {1, 5, 4}, {3, 10, 7}, {5, 12, 0},
            {LENGTH, LENGTH, 0}};

    @Override
    public String name() {
        return "bias-shift-invariant";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.capabilities().attentionBias();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        PositionalEncoding encoding = subject.create();
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            float[] large = subject.bias(encoding, POSITIONS, POSITIONS, 0);
            int bad = Values.firstNonFinite(large, true);
            if (bad >= 0) {
                return Verdict.fail("attentionBias over " + POSITIONS + " positions: element " + bad + " is "
                        + large[bad]);
            }
            int n = POSITIONS - 1;
            double diagonal = Values.maxRelativeError(PositionalSubject.window(large, POSITIONS, POSITIONS, 0, n, 0, n),
                    PositionalSubject.window(large, POSITIONS, POSITIONS, 1, n, 1, n));
            double windows = 0;
            for (int[] w : WINDOWS) {
                float[] expected = PositionalSubject.window(large, POSITIONS, POSITIONS, w[2], w[0], 0, w[1]);
                windows = Math.max(windows, Values.maxRelativeError(expected, subject.bias(encoding, w[0], w[1], w[2])));
            }
            return Verdict.within("bias over " + POSITIONS + " positions against itself one position along both axes, "
                    + "and (queryLength, keyLength, queryOffset) " + label() + " against its windows, relative",
                    Math.max(diagonal, windows), TOLERANCE);
        }
    }

    private static String label() {
        return String.join(" ", Arrays.stream(WINDOWS).map(w -> "(" + w[0] + ", " + w[1] + ", " + w[2] + ")").toList());
    }
}
