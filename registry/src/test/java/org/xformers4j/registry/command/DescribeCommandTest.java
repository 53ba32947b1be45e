package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.registry.command.JsonTree.array;
import static org.xformers4j.registry.command.JsonTree.object;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.fixture.RepeatLastDecoding;
import org.xformers4j.registry.fixture.ScaledValueAttention;

class DescribeCommandTest {

    private final DescribeCommand describe = new DescribeCommand(ComponentRegistry.standalone());

    @Test
    void textShowsEverythingAboutTheComponent() {
        Output result = Output.of(describe, "scaled-value");
        assertThat(result.exitCode()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).isEqualTo("""
                scaled-value (attention)
                  Returns the values times a factor.
                  reference:       None, 2026, registry test fixture
                  implementation:  %s

                Hyperparameters:
                  NAME      TYPE      DEFAULT  VALID         DESCRIPTION
                  factor    float     1.0      (0, 10]       Factor the values are multiplied by.
                  rounding  Rounding  NONE     NONE | FLOOR  How to round the factor.

                Capabilities:
                  NAME                 VALUE
                  additiveBias         false
                  causal               false
                  convergesWith        []
                  crossAttention       false
                  exact                false
                  exactWhen            []
                  grid                 false
                  incrementalDecoding  false
                  keyPaddingMask       false
                  length               NONE
                  lengthOption
                  linearMemory         false
                  memory               O(1)
                  sharedQueryKey       false
                  time                 O(N)
                """.formatted(ScaledValueAttention.class.getName()));
    }

    @Test
    void textMarksMandatoryHyperparameters() {
        Output result = Output.of(describe, "echo");
        assertThat(result.out()).contains("  times  int   (required)  [1, +inf)  How many times")
                .contains("  multipleHypotheses  false\n").contains("  stochastic          false\n");
    }

    @Test
    void jsonIsTheFullDescriptor() throws Exception {
        Output result = Output.of(describe, "--json", "echo");
        assertThat(result.exitCode()).isZero();
        Map<String, Object> d = object(JsonTree.parse(result.out()));
        assertThat(d).containsEntry("kind", "decoding").containsEntry("name", "echo")
                .containsEntry("summary", "Repeats the last prompt token.")
                .containsEntry("reference", "None, 2026, registry test fixture")
                .containsEntry("implementation", RepeatLastDecoding.class.getName());
        Map<String, Object> times = object(array(d.get("hyperparameters")).get(0));
        assertThat(times).containsEntry("name", "times").containsEntry("type", "int").containsEntry("mandatory", true)
                .containsEntry("range", "[1, +inf)").containsEntry("choices", List.of());
        assertThat(times).containsEntry("default", null);
        assertThat(object(d.get("capabilities"))).isEqualTo(Map.of("stochastic", false, "multipleHypotheses", false,
                "greedyWhen", List.of()));

        Map<String, Object> scaled = object(JsonTree.parse(Output.of(describe, "scaled-value", "--json").out()));
        Map<String, Object> rounding = object(array(scaled.get("hyperparameters")).get(1));
        assertThat(rounding).containsEntry("name", "rounding").containsEntry("range", null)
                .containsEntry("choices", List.of("NONE", "FLOOR")).containsEntry("default", "NONE");
    }

    @Test
    void unknownNameFailsWithSuggestions() {
        Output result = Output.of(describe, "shfit");
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).isEqualTo("describe: unknown component 'shfit'; did you mean: shift?\n");
    }

    @Test
    void missingOrExtraArgumentsAreUsageErrors() {
        Output none = Output.of(describe);
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).endsWith("usage: xformers4j describe NAME [--json]\n");
        Output json = Output.of(describe, "--json");
        assertThat(json.exitCode()).isEqualTo(2);
        Output two = Output.of(describe, "shift", "echo");
        assertThat(two.exitCode()).isEqualTo(2);
        assertThat(two.err()).startsWith("describe: unexpected argument 'echo'\n");
        Output option = Output.of(describe, "shift", "--yaml");
        assertThat(option.exitCode()).isEqualTo(2);
        assertThat(option.out()).isEmpty();
    }
}
