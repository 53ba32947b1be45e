package org.xformers4j.component;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The valid range of a numeric {@link com.oracle.labs.mlrg.olcut.config.Config @Config} field,
 * checked by {@link Component#postConfig()} and shown in the component's descriptor.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface Range {

    /** Lower bound. */
    double min() default Double.NEGATIVE_INFINITY;

    /** Upper bound. */
    double max() default Double.POSITIVE_INFINITY;

    /** Whether {@link #min()} itself is allowed. */
    boolean minInclusive() default true;

    /** Whether {@link #max()} itself is allowed. */
    boolean maxInclusive() default true;
}
