package org.xformers4j.attention;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;

/**
 * The conformance suite applied to every attention component this module registers (found as
 * {@code xformers4j check} finds them, through {@link ServiceLoader}): one test per component and
 * check.
 */
class AttentionConformanceTest {

    private static List<ComponentProvider<?>> attentionProviders() {
        return ServiceLoader.load(ComponentProvider.class).stream()
                .<ComponentProvider<?>>map(ServiceLoader.Provider::get)
                .filter(p -> p.descriptor().kind() == ComponentKind.ATTENTION)
                .toList();
    }

    @TestFactory
    Stream<DynamicTest> everyAttentionComponentPassesEveryCheckThatApplies() {
        return attentionProviders().stream()
                .flatMap(p -> AttentionConformance.run(p).stream())
                .map(r -> DynamicTest.dynamicTest(r.component() + " " + r.check(),
                        () -> assertThat(r.passed()).as(r.detail()).isTrue()));
    }

    @Test
    void fullAttentionIsSubjectToEveryCheckButParameterGradientsAndTheKernelDefinition() {
        List<CheckResult> results = AttentionConformance.run(new FullAttentionProvider());
        assertThat(results).extracting(CheckResult::check).containsExactlyElementsOf(
                AttentionConformance.checkNames().stream().filter(c -> !c.equals("gradient-parameters") && !c.equals("matches-kernel-definition")).toList());
        assertThat(results).allSatisfy(r -> assertThat(r.component()).isEqualTo("full"));
    }
}
