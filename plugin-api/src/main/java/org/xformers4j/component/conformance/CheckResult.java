package org.xformers4j.component.conformance;

/**
 * The outcome of one conformance check on one component.
 *
 * @param component the component's registered name, e.g. {@code flash}
 * @param check     the check's name, e.g. {@code causal-no-leakage}
 * @param passed    whether the component passed
 * @param detail    what was measured (on a pass) or what went wrong (on a failure), one line
 */
public record CheckResult(String component, String check, boolean passed, String detail) {
}
