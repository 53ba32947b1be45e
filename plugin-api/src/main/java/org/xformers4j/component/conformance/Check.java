package org.xformers4j.component.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One named check of a conformance suite, on subjects of type {@code S} (a component and what the
 * suite needs to know about it).
 *
 * @param <S> the subject type of the suite
 */
interface Check<S> {

    /** The check's stable name, e.g. {@code causal-no-leakage}. */
    String name();

    /** Whether the check applies to the subject (what its capabilities promise). */
    boolean appliesTo(S subject);

    /** Runs the check; exceptions other than those it expects propagate and count as a failure. */
    Verdict run(S subject);

    /**
     * Runs every check of {@code checks} that applies to {@code subject}, in order. A check that
     * throws fails with the exception as its detail (logged at FINE with its stack trace); the
     * other checks still run.
     *
     * @param component the subject's registered name, which every result carries
     * @return one result per check that applied
     */
    static <S> List<CheckResult> runAll(String component, S subject, List<? extends Check<S>> checks, Logger logger) {
        List<CheckResult> results = new ArrayList<>();
        for (Check<S> check : checks) {
            Verdict verdict;
            try {
                if (!check.appliesTo(subject)) {
                    continue;
                }
                verdict = check.run(subject);
            } catch (RuntimeException e) {
                logger.log(Level.FINE, component + ": check " + check.name() + " threw", e);
                verdict = Verdict.fail("threw " + e);
            }
            results.add(new CheckResult(component, check.name(), verdict.passed(), verdict.detail()));
        }
        return results;
    }
}
