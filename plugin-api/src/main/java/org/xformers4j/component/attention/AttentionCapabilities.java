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

    /** Supports incremental decoding with a key/value cache. */
    boolean incrementalDecoding();

    /** Computes softmax attention exactly (to float rounding) rather than approximating it. */
    boolean exact();

    /** Needs queries and keys from one shared projection (Reformer's LSH attention). */
    boolean sharedQueryKey() default false;

    /** Sequence length constraint. */
    LengthConstraint length() default LengthConstraint.NONE;

    /** Time as a function of the sequence length N, e.g. {@code O(N^2)}. */
    String time();

    /** Extra memory as a function of N, e.g. {@code O(N^2)}. */
    String memory();
}
