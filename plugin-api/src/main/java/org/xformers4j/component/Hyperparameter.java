package org.xformers4j.component;

import java.util.List;

/**
 * One hyperparameter of a component, as its descriptor shows it.
 *
 * @param name         the {@code @Config} field name, used as the option key
 * @param type         the Java type, e.g. {@code int}, {@code float}, {@code boolean}, or the enum's simple name
 * @param defaultValue the value a freshly created component has, as text ({@code null} when unset or mandatory;
 *                     {@code (built-in)} for a configurable object, such as a trainer's default architecture)
 * @param description  the {@code @Config} description
 * @param mandatory    whether it must be given
 * @param range        the valid range in interval notation, e.g. {@code [0, 1)}, or empty when unbounded
 * @param choices      the allowed values of an enum-typed field, else empty
 */
public record Hyperparameter(String name, String type, String defaultValue, String description, boolean mandatory,
                             String range, List<String> choices) {

    public Hyperparameter {
        choices = List.copyOf(choices);
    }
}
