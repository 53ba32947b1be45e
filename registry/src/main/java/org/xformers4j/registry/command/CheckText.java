package org.xformers4j.registry.command;

import java.util.List;
import org.xformers4j.component.conformance.CheckResult;

/**
 * {@code xformers4j check} as text: a table with one row per component and check (PASS or FAIL,
 * the component, the check, the detail), then a summary line.
 */
final class CheckText {

    private CheckText() {
    }

    static String render(List<CheckResult> results) {
        if (results.isEmpty()) {
            return "No components to check.\n";
        }
        TextTable table = new TextTable("RESULT", "COMPONENT", "CHECK", "DETAIL");
        results.forEach(r -> table.row(r.passed() ? "PASS" : "FAIL", r.component(), r.check(), r.detail()));
        long failed = results.stream().filter(r -> !r.passed()).count();
        long components = results.stream().map(CheckResult::component).distinct().count();
        String summary = failed == 0
                ? "All " + results.size() + " checks passed on " + components + " component(s).\n"
                : failed + " of " + results.size() + " checks failed on " + components + " component(s).\n";
        return table.render() + "\n" + summary;
    }
}
