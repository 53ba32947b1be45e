package org.xformers4j.attention;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.xformers4j.attention.exact.FullAttentionProvider;
import org.xformers4j.component.ComponentKind;
import org.xformers4j.component.ComponentProvider;
import org.xformers4j.component.attention.AttentionCapabilities;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.CheckResult;

/**
 * The conformance suite applied to every attention component this module registers (found as
 * {@code xformers4j check} finds them, through {@link ServiceLoader}): one test per component and
 * check.
 */
class AttentionConformanceTest {

    static List<ComponentProvider<?>> attentionProviders() {
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
    void fullAttentionIsSubjectToEveryCheckButThoseOfParametersKernelsApproximationsPatternsAndLinearMemory() {
        List<CheckResult> results = AttentionConformance.run(new FullAttentionProvider());
        assertThat(results).extracting(CheckResult::check).containsExactlyElementsOf(
                AttentionConformance.checkNames().stream().filter(c -> !List.of("gradient-parameters",
                        "matches-kernel-definition", "approximates-full", "linear-memory", "matches-pattern")
                        .contains(c)).toList());
        assertThat(results).allSatisfy(r -> assertThat(r.component()).isEqualTo("full"));
    }

    /**
     * Every mechanism but {@code full} (whose N×N scores the others exist to avoid) declares linear
     * memory, so {@code linear-memory} holds it to that, and the approximations of softmax
     * attention declare the settings under which {@code approximates-full} shows them converge.
     */
    @Test
    void everyMechanismButFullDeclaresLinearMemoryAndTheApproximationsTheirConvergence() {
        Map<String, AttentionCapabilities> capabilities = attentionProviders().stream().collect(Collectors.toMap(
                p -> p.descriptor().name(), p -> p.descriptor().capabilities(AttentionCapabilities.class)));
        assertThat(capabilities).allSatisfy((name, c) -> assertThat(c.linearMemory()).as(name)
                .isEqualTo(!name.equals("full")));
        assertThat(capabilities.get("performer").convergesWith()).hasSizeGreaterThan(1);
        assertThat(capabilities.get("nystrom").convergesWith()).hasSizeGreaterThan(1);
    }
}
