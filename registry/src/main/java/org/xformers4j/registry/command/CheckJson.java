package org.xformers4j.registry.command;

import java.util.List;
import org.xformers4j.component.conformance.CheckResult;

/**
 * {@code xformers4j check --json}: one object,
 * {@code {"results":[{"component":…,"check":…,"passed":true|false,"detail":…}…]}}, in the order
 * the checks ran.
 */
final class CheckJson {

    private CheckJson() {
    }

    static String render(List<CheckResult> results) {
        return JsonOutput.render(json -> {
            json.writeStartObject();
            json.writeArrayFieldStart("results");
            for (CheckResult r : results) {
                json.writeStartObject();
                json.writeStringField("component", r.component());
                json.writeStringField("check", r.check());
                json.writeBooleanField("passed", r.passed());
                json.writeStringField("detail", r.detail());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        });
    }
}
