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
     * Needs queries and keys from one shared projection (Kitaev et al., 2020, "Reformer: The
     * Efficient Transformer"): the mechanism receives the same tensor as queries and keys.
     */
    boolean sharedQueryKey() default false;

    /** Sequence length constraint. */
    LengthConstraint length() default LengthConstraint.NONE;

    /** Time as a function of the sequence length N, e.g. {@code O(N^2)}. */
    String time();

    /** Extra memory as a function of N, e.g. {@code O(N^2)}. */
    String memory();
}
