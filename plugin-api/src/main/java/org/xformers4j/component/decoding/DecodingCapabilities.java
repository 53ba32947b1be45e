package org.xformers4j.component.decoding;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** How a decoding strategy chooses tokens, declared on its class. */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface DecodingCapabilities {

    /** Draws tokens at random (reproducible for a seed) rather than deterministically. */
    boolean stochastic();

    /** Keeps several hypotheses per prompt (beam search). */
    boolean multipleHypotheses();

    /**
     * Hyperparameter settings, as {@code name=value} strings, under which the strategy is greedy
     * decoding (it picks the most probable token at every step), e.g. {@code {"numBeams=1"}} for
     * beam search or {@code {"topK=1"}} for sampling (Hugging Face, "Text generation strategies":
     * beam search with one beam and sampling from the single most probable token are greedy
     * search). The conformance suite ({@code org.xformers4j.component.conformance}) configures the
     * strategy with them and compares it with greedy decoding. Empty means either that the
     * strategy is greedy with any configuration (when it is neither {@link #stochastic()} nor keeps
     * {@link #multipleHypotheses()}) or that it has no such setting (otherwise).
     */
    String[] greedyWhen() default {};
}
