package org.xformers4j.component;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Names and documents a component class; its descriptor is derived from this and its fields. */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface ComponentInfo {

    /** Short stable name users select it by: lower case, digits and '-', e.g. {@code full}, {@code sliding-window}. */
    String name();

    /** One line saying what it does. */
    String summary();

    /** The paper it implements: authors, year, title. */
    String reference();
}
