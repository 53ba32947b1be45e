package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.xformers4j.component.positional.PositionalCapabilities;
import org.xformers4j.component.positional.PositionalEncoding;
import org.xformers4j.tensor.GradMode;
import org.xformers4j.tensor.Tensor;

/**
 * {@code extrapolates}: what {@link PositionalCapabilities#extrapolates()} and
 * {@link PositionalCapabilities#maximumLength()} promise about long sequences, through the hooks the
 * encoding declares, in its default configuration.
 *
 * <ul>
 *   <li>An encoding that extrapolates, used first on {@value #SHORT} positions, then works on
 *       {@value #LONG}: outputs of the expected shapes with no NaN or infinity (a bias may hold -∞,
 *       a mask), and the first {@value #SHORT} positions encoded as before, to within
 *       {@value #TOLERANCE}·(1 + |value|): a position's encoding does not depend on the length.</li>
 *   <li>An encoding with a maximum length is probed with sequences of 1, 2, 4, … up to
 *       2^{@value #MAX_LOG_LENGTH} positions, each through a window of its last {@value #WINDOW}
 *       positions (hook 3 over all keys, while they are at most {@value #MAX_BIAS_KEYS}). The first
 *       sequence it refuses must be refused with an {@link IllegalArgumentException} whose message
 *       mentions the sequence's length or its last position; refusing none fails.</li>
 * </ul>
 * An encoding declaring both fails: the two promises contradict each other.
 */
final class Extrapolates implements PositionalCheck {

    static final int SHORT = 32;
    static final int LONG = 257;
    static final double TOLERANCE = 1e-5;
    static final int MAX_LOG_LENGTH = 20;
    static final int WINDOW = 8;
    static final int MAX_BIAS_KEYS = 1 << 16;

    @Override
    public String name() {
        return "extrapolates";
    }

    @Override
    public boolean appliesTo(PositionalSubject subject) {
        return subject.capabilities().extrapolates() || subject.capabilities().maximumLength();
    }

    @Override
    public Verdict run(PositionalSubject subject) {
        PositionalCapabilities c = subject.capabilities();
        if (c.extrapolates() && c.maximumLength()) {
            return Verdict.fail("declares both extrapolates and maximumLength");
        }
        try (GradMode.Scope ignored = GradMode.noGrad()) {
            return c.extrapolates() ? longerThanBefore(subject) : refusedPastTheMaximum(subject);
        }
    }

    private static Verdict longerThanBefore(PositionalSubject subject) {
        PositionalCapabilities c = subject.capabilities();
        PositionalEncoding encoding = subject.create();
        SplittableRandom rng = new SplittableRandom(SEED + 10);
        Tensor x = Tensor.randn(rng, 1, LONG, MODEL_DIM);
        Tensor q = Tensor.randn(rng, 1, HEADS, LONG, HEAD_DIM);
        Tensor k = Tensor.randn(rng, 1, HEADS, LONG, HEAD_DIM);
        List<String> problems = new ArrayList<>();
        double worst = 0;
        if (c.addsToEmbeddings()) {
            Tensor before = encoding.addToEmbeddings(x.narrow(1, 0, SHORT), 0);
            Tensor after = encoding.addToEmbeddings(x, 0);
            problems.addAll(badOutput("addToEmbeddings", after, new int[] {1, LONG, MODEL_DIM}));
            if (problems.isEmpty()) {
                worst = Math.max(worst, Values.maxRelativeError(before.toFloatArray(),
                        after.narrow(1, 0, SHORT).toFloatArray()));
            }
        }
        if (c.rotatesQueryKey()) {
            Tensor[] before = encoding.rotateQueryKey(q.narrow(2, 0, SHORT), k.narrow(2, 0, SHORT), 0, 0);
            Tensor[] after = encoding.rotateQueryKey(q, k, 0, 0);
            int[] shape = {1, HEADS, LONG, HEAD_DIM};
            problems.addAll(badOutput("rotated queries", after[0], shape));
            problems.addAll(badOutput("rotated keys", after[1], shape));
            if (problems.isEmpty()) {
                for (int i = 0; i < 2; i++) {
                    worst = Math.max(worst, Values.maxRelativeError(before[i].toFloatArray(),
                            after[i].narrow(2, 0, SHORT).toFloatArray()));
                }
            }
        }
        if (c.attentionBias()) {
            float[] before = subject.bias(encoding, SHORT, SHORT, 0);
            float[] after = subject.bias(encoding, LONG, LONG, 0);
            int bad = Values.firstNonFinite(after, true);
            if (bad >= 0) {
                problems.add("attentionBias element " + bad + " is " + after[bad]);
            } else {
                worst = Math.max(worst, Values.maxRelativeError(before,
                        PositionalSubject.window(after, LONG, LONG, 0, SHORT, 0, SHORT)));
            }
        }
        if (!problems.isEmpty()) {
            return Verdict.fail(LONG + " positions after " + SHORT + ": " + String.join("; ", problems));
        }
        return Verdict.within(LONG + " positions after " + SHORT + " through " + subject.hooks()
                + ": finite, and the first " + SHORT + " encoded as before, relative", worst, TOLERANCE);
    }

    private static Verdict refusedPastTheMaximum(PositionalSubject subject) {
        PositionalEncoding encoding = subject.create();
        SplittableRandom rng = new SplittableRandom(SEED + 11);
        Tensor x = Tensor.randn(rng, 1, WINDOW, MODEL_DIM);
        Tensor q = Tensor.randn(rng, 1, HEADS, WINDOW, HEAD_DIM);
        Tensor k = Tensor.randn(rng, 1, HEADS, WINDOW, HEAD_DIM);
        PositionalCapabilities c = subject.capabilities();
        int accepted = 0;
        for (int log = 0; log <= MAX_LOG_LENGTH; log++) {
            int length = 1 << log;
            int window = Math.min(length, WINDOW);
            int offset = length - window;
            List<String> problems = new ArrayList<>();
            try {
                if (c.addsToEmbeddings()) {
                    Tensor out = encoding.addToEmbeddings(x.narrow(1, 0, window), offset);
                    problems.addAll(badOutput("addToEmbeddings", out, new int[] {1, window, MODEL_DIM}));
                }
                if (c.rotatesQueryKey()) {
                    Tensor[] out = encoding.rotateQueryKey(q.narrow(2, 0, window), k.narrow(2, 0, window), offset,
                            offset);
                    problems.addAll(badOutput("rotated queries", out[0], new int[] {1, HEADS, window, HEAD_DIM}));
                    problems.addAll(badOutput("rotated keys", out[1], new int[] {1, HEADS, window, HEAD_DIM}));
                }
                if (c.attentionBias() && length <= MAX_BIAS_KEYS) {
                    int bad = Values.firstNonFinite(subject.bias(encoding, window, length, offset), true);
                    if (bad >= 0) {
                        problems.add("attentionBias element " + bad + " is not finite");
                    }
                }
            } catch (IllegalArgumentException e) {
                return refusal(length, accepted, String.valueOf(e.getMessage()));
            }
            if (!problems.isEmpty()) {
                return Verdict.fail("a sequence of " + length + " positions: " + String.join("; ", problems));
            }
            accepted = length;
        }
        return Verdict.fail("declares maximumLength but accepts sequences of up to " + accepted + " positions");
    }

    /** The verdict on refusing a sequence of {@code length} positions after accepting {@code accepted}. */
    private static Verdict refusal(int length, int accepted, String message) {
        if (accepted == 0) {
            return Verdict.fail("refuses a sequence of 1 position: " + message);
        }
        String what = "accepts sequences of up to " + accepted + " positions and refuses " + length
                + " (last position " + (length - 1) + ") with IllegalArgumentException";
        boolean mentioned = Pattern.compile("\\b(" + length + "|" + (length - 1) + ")\\b").matcher(message).find();
        return mentioned ? Verdict.pass(what + ": " + message)
                : Verdict.fail(what + " whose message mentions neither the length nor the last position: " + message);
    }

    /** Shape and finiteness problems of a hook's output. */
    private static List<String> badOutput(String what, Tensor out, int[] expected) {
        if (!Arrays.equals(out.shape(), expected)) {
            return List.of(what + " " + Arrays.toString(out.shape()) + ", expected " + Arrays.toString(expected));
        }
        float[] values = out.toFloatArray();
        int bad = Values.firstNonFinite(values, false);
        return bad < 0 ? List.of() : List.of(what + " element " + bad + " is " + values[bad]);
    }
}
