package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.registry.command.JsonTree.array;
import static org.xformers4j.registry.command.JsonTree.object;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.conformance.AttentionConformance;
import org.xformers4j.component.conformance.DecodingConformance;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.fixture.PlainSoftmaxAttention;
import org.xformers4j.registry.fixture.ShiftEncoding;
import org.xformers4j.registry.internal.DefaultComponentRegistry;

class CheckCommandTest {

    /** The fixtures of META-INF/services: scaled-value ignores queries and keys and validates nothing. */
    private final CheckCommand failing = new CheckCommand(ComponentRegistry.standalone());

    private final CheckCommand conforming = new CheckCommand(registryOf(new PlainSoftmaxAttention.Provider(),
            new ShiftEncoding.Provider()));

    private static ComponentRegistry registryOf(org.xformers4j.component.ComponentProvider<?>... providers) {
        DefaultComponentRegistry registry = new DefaultComponentRegistry();
        for (var p : providers) {
            registry.addProvider(p);
        }
        return registry;
    }

    @Test
    void conformingComponentsPassEveryCheckThatAppliesWithOneLineEach() {
        Output result = Output.of(conforming);
        assertThat(result.exitCode()).isZero();
        assertThat(result.err()).isEmpty();
        List<String> lines = result.out().lines().toList();
        assertThat(lines.get(0)).matches("  RESULT +COMPONENT +CHECK +DETAIL");
        assertThat(lines.subList(1, 8)).extracting(l -> l.trim().split(" +")[2]).containsExactly("matches-full",
                "gradient-inputs", "batch-independent", "rejects-bad-input", "reproducible",
                "pairs-with-every-mechanism", "extrapolates");
        assertThat(lines.subList(1, 6)).allSatisfy(l -> assertThat(l).startsWith("  PASS    plain-softmax  "));
        assertThat(lines.subList(6, 8)).allSatisfy(l -> assertThat(l).startsWith("  PASS    shift          "));
        assertThat(lines.get(1)).contains("against float64 softmax attention over plain");
        assertThat(lines.get(4)).contains("a causal context (not supported)");
        assertThat(lines.get(6)).contains("MultiHeadAttention layer with plain-softmax");
        assertThat(lines.subList(8, lines.size())).containsExactly("", "All 7 checks passed on 2 component(s).");
    }

    @Test
    void failuresAreReportedWithTheirDetailAndExitCodeOne() {
        Output result = Output.of(failing, "scaled-value");
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).containsPattern("  FAIL +scaled-value +rejects-bad-input +rank-3 query: accepted; ")
                .containsPattern("  FAIL +scaled-value +gradient-inputs +.*input 0 \\[2, 2, 8, 4\\] got no gradient")
                .containsPattern("  PASS +scaled-value +batch-independent ")
                .containsPattern("\n\\d+ of \\d+ checks failed on 1 component\\(s\\)\\.\n$");
    }

    @Test
    void withoutNamesEveryAttentionPositionalAndDecodingComponentIsChecked() {
        Output result = Output.of(failing);
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).contains("scaled-value").contains("shift").contains("echo");
        assertThat(result.out().indexOf("scaled-value")).isLessThan(result.out().indexOf("shift"));
        assertThat(result.out().indexOf("shift")).isLessThan(result.out().indexOf("echo"));
    }

    @Test
    void anEmptyRegistryHasNothingToCheck() {
        Output result = Output.of(new CheckCommand(registryOf()));
        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).isEqualTo("No components to check.\n");
    }

    @Test
    void positionalComponentsArePairedWithTheInstalledAttentionComponents() throws Exception {
        Output result = Output.of(failing, "--json", "shift");
        assertThat(result.exitCode()).isZero();
        List<Object> results = array(object(JsonTree.parse(result.out())).get("results"));
        assertThat(results).extracting(r -> object(r).get("check")).containsExactly("pairs-with-every-mechanism",
                "extrapolates");
        assertThat(results).allSatisfy(r -> assertThat(object(r)).containsEntry("component", "shift")
                .containsEntry("passed", true));
        assertThat((String) object(results.get(0)).get("detail")).contains("MultiHeadAttention layer with scaled-value");
    }

    @Test
    void jsonHasOneResultObjectPerCheck() throws Exception {
        Output result = Output.of(failing, "--json", "scaled-value");
        assertThat(result.exitCode()).isEqualTo(1);
        Map<String, Object> root = object(JsonTree.parse(result.out()));
        assertThat(root).containsOnlyKeys("results");
        List<Object> results = array(root.get("results"));
        assertThat(results).isNotEmpty().allSatisfy(r -> assertThat(object(r))
                .containsOnlyKeys("component", "check", "passed", "detail")
                .containsEntry("component", "scaled-value"));
        assertThat(results).extracting(r -> object(r).get("check"))
                .allSatisfy(c -> assertThat(AttentionConformance.checkNames()).contains((String) c));
        assertThat(results).filteredOn(r -> object(r).get("check").equals("rejects-bad-input")).singleElement()
                .satisfies(r -> assertThat(object(r)).containsEntry("passed", false));

        Output passing = Output.of(conforming, "plain-softmax", "--json");
        assertThat(passing.exitCode()).isZero();
        assertThat(array(object(JsonTree.parse(passing.out())).get("results")))
                .allSatisfy(r -> assertThat(object(r)).containsEntry("passed", true));
    }

    @Test
    void unknownNameFailsWithSuggestionsBeforeCheckingAnything() {
        Output result = Output.of(failing, "scaled-valeu");
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).isEqualTo("check: unknown component 'scaled-valeu'; did you mean: scaled-value?\n");
    }

    @Test
    void decodingComponentsRunTheDecodingSuite() throws Exception {
        Output result = Output.of(failing, "--json", "echo");
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).isEmpty();
        List<Object> results = array(object(JsonTree.parse(result.out())).get("results"));
        assertThat(results).extracting(r -> object(r).get("check"))
                .containsExactlyElementsOf(DecodingConformance.checkNames());
        assertThat(results).allSatisfy(r -> assertThat(object(r)).containsEntry("component", "echo")
                .containsEntry("passed", false)
                .containsEntry("detail", "threw java.lang.IllegalArgumentException: cannot configure echo with its "
                        + "defaults: Component: echo, Property: times, times is mandatory in configuration"));
    }

    @Test
    void unexpectedOptionIsAUsageError() {
        Output result = Output.of(failing, "--yaml");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).isEqualTo("check: unexpected argument '--yaml'\nusage: xformers4j check [NAME...] [--json]\n");
    }
}
