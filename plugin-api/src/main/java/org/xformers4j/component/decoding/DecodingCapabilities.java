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
}
