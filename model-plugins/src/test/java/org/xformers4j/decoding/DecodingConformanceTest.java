package org.xformers4j.decoding;

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
import org.xformers4j.component.conformance.DecodingConformance;

/**
 * The decoding conformance suite applied to every decoding strategy this module registers (found
 * as {@code xformers4j check} finds them, through {@link ServiceLoader}): one test per strategy and
 * check.
 */
class DecodingConformanceTest {

    private static List<ComponentProvider<?>> decodingProviders() {
        return ServiceLoader.load(ComponentProvider.class).stream()
                .<ComponentProvider<?>>map(ServiceLoader.Provider::get)
                .filter(p -> p.descriptor().kind() == ComponentKind.DECODING)
                .toList();
    }

    @TestFactory
    Stream<DynamicTest> everyDecodingStrategyPassesEveryCheckThatApplies() {
        assertThat(decodingProviders()).extracting(p -> p.descriptor().name())
                .contains("greedy", "beam", "diverse-beam", "sample", "contrastive");
        return decodingProviders().stream()
                .flatMap(p -> DecodingConformance.run(p).stream())
                .map(r -> DynamicTest.dynamicTest(r.component() + " " + r.check(),
                        () -> assertThat(r.passed()).as(r.detail()).isTrue()));
    }

    @Test
    void everyRegisteredStrategyHasAGreedyConfigurationAndIsSubjectToEveryCheck() {
        for (ComponentProvider<?> provider : decodingProviders()) {
            assertThat(DecodingConformance.run(provider)).extracting(CheckResult::check)
                    .as(provider.descriptor().name()).containsExactlyElementsOf(DecodingConformance.checkNames());
        }
    }

    @Test
    void greedyRefusesSeveralSequencesAndBeamReturnsThemBestFirst() {
        assertThat(DecodingConformance.run(new GreedyDecodingProvider()))
                .filteredOn(r -> r.check().equals("returns-best-first")).singleElement()
                .satisfies(r -> assertThat(r.detail()).contains("numReturnSequences 2 refused"));
        assertThat(DecodingConformance.run(new BeamSearchDecodingProvider()))
                .filteredOn(r -> r.check().equals("returns-best-first")).singleElement()
                .satisfies(r -> assertThat(r.detail()).contains("[[dog has <eos>, nice woman <eos>]"));
    }
}
