package org.xformers4j.component.positional;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Which hooks a positional encoding uses and whether it learns, declared on its class. */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface PositionalCapabilities {

    /** Adds position vectors to token embeddings. */
    boolean addsToEmbeddings() default false;

    /** Rotates queries and keys (rotary, xPos). */
    boolean rotatesQueryKey() default false;

    /** Produces an additive attention bias (ALiBi, T5 buckets). */
    boolean attentionBias() default false;

    /** Works on sequences longer than any seen in training (relative or fixed functions of position). */
    boolean extrapolates();

    /** Has trainable parameters. */
    boolean learnable();

    /** Limited to the configured maximum length. */
    boolean maximumLength() default false;
}
