package org.xformers4j.component.attention;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What an attention mechanism supports and costs, declared on its class. The multi-head layer and
 * model builders check these before use and fail with a clear message instead of computing
 * something else.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface AttentionCapabilities {

    /** How the sequence length is constrained. */
    enum LengthConstraint {
        /** Any length. */
        NONE,
        /** Exactly the configured length (e.g. Linformer's projections). */
        FIXED,
        /** At most the configured length. */
        MAXIMUM
    }

    /** Honours {@code AttentionContext.causal()}: position i sees only keys at positions &lt;= i. */
    boolean causal();

    /** Keys and values may be longer or shorter than the queries. */
    boolean crossAttention();

    /** Honours a key padding mask. */
    boolean keyPaddingMask();

    /** Adds an additive bias to the scores, with a gradient when the bias requires one. */
    boolean additiveBias();

    /**
     * Supports incremental decoding with a cache: of keys and values, or of a recurrent state when
     * the mechanism implements {@link RecurrentAttention}.
     */
    boolean incrementalDecoding();

    /** Computes softmax attention exactly (to float rounding) rather than approximating it. */
    boolean exact();

    /**
     * For a mechanism that is not {@link #exact()}: hyperparameter settings, as {@code name=value}
     * strings, under which it computes exact softmax attention after all, for sequences of the
     * lengths the conformance suite uses (at most 16), e.g. {@code {"window=1000000"}} for a
     * sliding window that covers the sequence, or one hash round and one bucket for LSH. The
     * conformance suite ({@code org.xformers4j.component.conformance}) configures the mechanism
     * with them and compares it with a float64 reference of full attention (with the self-mask
     * and normalised keys of {@link #sharedQueryKey()} when that is set). Empty when there is no
     * such setting, or when the mechanism is exact anyway.
     */
    String[] exactWhen() default {};

    /**
     * For a mechanism that approximates softmax attention: settings under which it converges to
     * it, in order of increasing fidelity, e.g. {@code {"features=64", "features=256",
     * "features=1024"}} for random features or {@code {"landmarks=2", "landmarks=4",
     * "landmarks=8, pinvIterations=30"}} for Nyström landmarks up to the suite's length. Each
     * entry is one or more {@code name=value} pairs separated by commas, applied on top of the
     * defaults, for the sequences the conformance suite uses (8 positions, head size 4). The
     * suite's {@code approximates-full} check configures the mechanism with each in turn, compares
     * it with a float64 reference of full attention, and requires the error to fall along the
     * list and to end small (averaged over several seeds when the mechanism has a {@code seed}
     * hyperparameter, since one random draw is noisy). Empty when the mechanism does not
     * approximate softmax attention (a kernel attention with its own similarity) or is exact.
     */
    String[] convergesWith() default {};

    /**
     * The extra memory of a forward and backward pass grows linearly with the sequence length N
     * for the default hyperparameters (a fixed window, chunk, number of features or landmarks),
     * never with N². The suite's {@code linear-memory} check holds a mechanism that declares it
     * to that, from the backend's allocation counter at N and 4N. {@link #memory()} states the
     * order in words; this is the claim that is checked.
     */
    boolean linearMemory() default false;

    /**
     * Needs queries and keys from one shared projection (Kitaev et al., 2020, "Reformer: The
     * Efficient Transformer"): the mechanism receives the same tensor as queries and keys.
     */
    boolean sharedQueryKey() default false;

    /**
     * Reads the 2-D layout of {@code AttentionContext.grid()} when the context has one (e.g.
     * convolutions over an image-patch grid instead of along the sequence). Mechanisms that do not
     * declare it compute the same with or without a grid.
     */
    boolean grid() default false;

    /**
     * Needs {@code AttentionContext.grid()}: refuses a context without one (Swin's windows of an
     * image grid). Implies {@link #grid()}. The conformance suite gives such a mechanism a grid of
     * the problem's length in every problem.
     */
    boolean gridRequired() default false;

    /** Sequence length constraint. */
    LengthConstraint length() default LengthConstraint.NONE;

    /**
     * For a mechanism whose {@link #length()} is constrained: the hyperparameter that sets the
     * length, e.g. {@code "maxLength"} for Linformer's projections. A check or benchmark that runs
     * the mechanism on longer sequences than its default allows ({@code linear-memory},
     * {@code xformers4j bench attention}) sets it to the length it runs. Empty when the length is
     * not constrained.
     */
    String lengthOption() default "";

    /** Time as a function of the sequence length N, e.g. {@code O(N^2)}. */
    String time();

    /** Extra memory as a function of N, e.g. {@code O(N^2)}. */
    String memory();
}
