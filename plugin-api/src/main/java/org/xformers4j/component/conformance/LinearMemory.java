package org.xformers4j.component.conformance;

import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.attention.AttentionContext;
import org.xformers4j.component.attention.AttentionMechanism;
import org.xformers4j.compute.MemoryStats;
import org.xformers4j.tensor.Tensor;

/**
 * {@code linear-memory}: a mechanism that declares {@link AttentionCapabilities#linearMemory()}
 * allocates at most {@value #MAX_GROWTH} times the tensor bytes for a forward and backward pass
 * over {@value #GROWTH} times the length: from {@value #LENGTH} to 4·{@value #LENGTH} positions
 * (batch 1, {@value #HEADS} head, head and value size {@value #DIM}, default hyperparameters but the
 * {@link AttentionCapabilities#lengthOption() length option}, set to the length; the tokens a square
 * grid for a mechanism that requires one),
 * without and (when declared) with a causal context. Linear memory grows 4 times, N·log N 4.8 times,
 * quadratic memory (an N×N score matrix) 16 times.
 *
 * <p>The bytes are the backend's allocation counter ({@link MemoryStats#allocatedBytesSinceReset()}):
 * everything allocated during the pass, freed or not. On the CPU a buffer is released only when
 * the garbage collector reclaims it, so the peak of live bytes depends on when it runs; the bytes
 * allocated do not, and bound the peak extra bytes from above: when they grow linearly, so does
 * the peak. The lengths are long enough that the default windows, chunks, features and landmarks
 * of the mechanisms are small beside them, so the growth is the mechanism's, not its fixed
 * overheads'.
 */
final class LinearMemory implements AttentionCheck {

    static final int LENGTH = 1024;
    static final int GROWTH = 4;
    static final double MAX_GROWTH = 6;
    static final int HEADS = 1;
    static final int DIM = 16;

    @Override
    public String name() {
        return "linear-memory";
    }

    @Override
    public boolean appliesTo(Subject subject) {
        return subject.capabilities().linearMemory();
    }

    @Override
    public Verdict run(Subject subject) {
        StringBuilder detail = new StringBuilder("bytes allocated by forward + backward");
        boolean passed = true;
        for (boolean causal : subject.capabilities().causal() ? new boolean[] {false, true} : new boolean[] {false}) {
            long small = allocatedBytes(subject, LENGTH, causal);
            long large = allocatedBytes(subject, GROWTH * LENGTH, causal);
            double growth = (double) large / small;
            passed &= growth <= MAX_GROWTH;
            detail.append(causal ? "; causal" : "").append(String.format(Locale.ROOT, ": N=%d %.2f MiB, N=%d %.2f MiB,"
                    + " %.2fx", LENGTH, small / 1048576.0, GROWTH * LENGTH, large / 1048576.0, growth));
        }
        detail.append(String.format(Locale.ROOT, " (at most %.0fx for %dx the length; quadratic is %dx)", MAX_GROWTH,
                GROWTH, GROWTH * GROWTH));
        return new Verdict(passed, detail.toString());
    }

    /** Bytes the backend allocates for one forward and backward of a fresh instance at {@code length}. */
    private static long allocatedBytes(Subject subject, int length, boolean causal) {
        String lengthOption = subject.capabilities().lengthOption();
        AttentionMechanism mechanism = subject.create(lengthOption.isEmpty() ? Map.of()
                : Map.of(lengthOption, Integer.toString(length)), HEADS, DIM, DIM);
        SplittableRandom rng = new SplittableRandom(SEED + length);
        Tensor q = Tensor.randn(rng, 1, HEADS, length, DIM).requiresGrad(true);
        Tensor k = subject.capabilities().sharedQueryKey() ? q : Tensor.randn(rng, 1, HEADS, length, DIM)
                .requiresGrad(true);
        Tensor v = Tensor.randn(rng, 1, HEADS, length, DIM).requiresGrad(true);
        MemoryStats memory = q.backend().memory();
        memory.resetPeak();
        AttentionContext context = AttentionContext.builder().causal(causal)
                .grid(Problem.grid(subject.capabilities(), length)).build();
        mechanism.forward(q, k, v, context).sum().backward();
        return memory.allocatedBytesSinceReset();
    }
}
