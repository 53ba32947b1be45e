package org.xformers4j.component.conformance;

import org.xformers4j.component.Component;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.ConfigurableComponentProvider;

/** One check's result on a test double, for the tests of one attention check. */
final class SingleCheck {

    private SingleCheck() {
    }

    /** A provider of the test double {@code type}, configured from its {@code @Config} fields. */
    static <T extends Component> ComponentProvider<T> provider(Class<T> type) {
        return new ConfigurableComponentProvider<>(type) {
        };
    }

    /** The result of the check called {@code check} when the suite runs on {@code type}. */
    static CheckResult result(String check, Class<? extends Component> type) {
        return AttentionConformance.run(provider(type)).stream().filter(r -> r.check().equals(check)).findFirst()
                .orElseThrow(() -> new AssertionError(check + " did not apply to " + type.getSimpleName()));
    }
}
