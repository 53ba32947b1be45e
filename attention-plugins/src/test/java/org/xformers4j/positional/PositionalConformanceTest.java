package org.xformers4j.positional;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.conformance.CheckResult;
import org.xformers4j.component.conformance.PositionalConformance;

/**
 * The positional conformance suite applied to every positional component this module registers,
 * paired with every attention component it registers (found as {@code xformers4j check} finds
 * them, through {@link ServiceLoader}): one test per component and check.
 */
class PositionalConformanceTest {

    private static List<ComponentProvider<?>> providers(ComponentKind kind) {
        return ServiceLoader.load(ComponentProvider.class).stream()
                .<ComponentProvider<?>>map(ServiceLoader.Provider::get)
                .filter(p -> p.descriptor().kind() == kind)
                .toList();
    }

    @TestFactory
    Stream<DynamicTest> everyPositionalComponentPassesEveryCheckThatApplies() {
        List<ComponentProvider<?>> mechanisms = providers(ComponentKind.ATTENTION);
        return providers(ComponentKind.POSITIONAL).stream()
                .flatMap(p -> PositionalConformance.run(p, mechanisms).stream())
                .map(r -> DynamicTest.dynamicTest(r.component() + " " + r.check(),
                        () -> assertThat(r.passed()).as(r.detail()).isTrue()));
    }

    @Test
    void learnedIsPairedProbedForItsMaximumAndGradientChecked() {
        List<CheckResult> results = PositionalConformance.run(new LearnedPositionalEncodingProvider(),
                providers(ComponentKind.ATTENTION));
        assertThat(results).extracting(CheckResult::check).containsExactly("pairs-with-every-mechanism",
                "extrapolates", "gradient-parameters", "incremental-decoding");
        assertThat(results.get(0).detail()).contains("full", "flash", "local", "sliding-window", "lsh", "linear");
        assertThat(results.get(1).detail()).startsWith("accepts sequences of up to 512 positions and refuses 1024");
    }
}
