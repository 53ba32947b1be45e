package org.xformers4j.component.conformance;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code relative-offset}, for encodings that rotate queries and keys (hook 2): the scores
 * {@code q'·k'ᵀ} depend only on the distance between query and key positions (Su et al., 2021,
 * "RoFormer", §3.2): rotating the same queries and keys at positions shifted together by each of
 * {@link #SHIFTS} leaves every score unchanged to within {@value #TOLERANCE}·(1 + |score|). The
 * keys have one head shared by the {@value PositionalCheck#HEADS} query heads, as under
 * grouped-query attention, and the rotation must depend on the position at all: the queries
 * rotated at offset 0 and at offset {@value #MOVED} must differ.
 */
final class RelativeOffset implements PositionalCheck {

    static final int[] SHIFTS = {3, 64};
    static final int MOVED = 7;
    static final double TOLERANCE = 1e-4;

    @Override
    public String name() {
        return "relative-offset";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.capabilities().rotatesQueryKey();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        PositionalEncoding encoding = subject.create();
        SplittableRandom rng = new SplittableRandom(SEED + 20);
        Tensor q = Tensor.randn(rng, BATCH, HEADS, LENGTH, HEAD_DIM);
        Tensor k = Tensor.randn(rng, BATCH, 1, LENGTH, HEAD_DIM);
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            Tensor[] at0 = encoding.rotateQueryKey(q, k, 0, 0);
            if (!Arrays.equals(at0[0].shape(), q.shape()) || !Arrays.equals(at0[1].shape(), k.shape())) {
                return Verdict.fail("rotated queries " + Arrays.toString(at0[0].shape()) + " and keys "
                        + Arrays.toString(at0[1].shape()) + ", expected " + Arrays.toString(q.shape()) + " and "
                        + Arrays.toString(k.shape()));
            }
            float[] scores = at0[0].matmul(at0[1], false, true).toFloatArray();
            double worst = 0;
            for (int shift : SHIFTS) {
                Tensor[] shifted = encoding.rotateQueryKey(q, k, shift, shift);
                worst = Math.max(worst, Values.maxRelativeError(scores,
                        shifted[0].matmul(shifted[1], false, true).toFloatArray()));
            }
            float[] moved = encoding.rotateQueryKey(q, k, MOVED, MOVED)[0].toFloatArray();
            if (Values.maxRelativeError(at0[0].toFloatArray(), moved) == 0) {
                return Verdict.fail("queries rotated at offset " + MOVED + " equal those at offset 0: the rotation "
                        + "ignores the position");
            }
            return Verdict.within("scores q'·k'ᵀ of " + LENGTH + " queries over " + LENGTH + " keys (one key head) with "
                    + "both offsets shifted by " + Arrays.toString(SHIFTS) + ", relative", worst, TOLERANCE);
        }
    }
}
