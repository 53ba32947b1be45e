package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.registry.command.JsonTree.array;
import static org.xformers4j.registry.command.JsonTree.object;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.component.ConfigurableCatalog;
import org.xformers4j.component.ConfigurableDescriptor;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.fixture.Settings;
import org.xformers4j.registry.fixture.RepeatLastDecoding;
import org.xformers4j.registry.fixture.ScaledValueAttention;

class DescribeCommandTest {

    private final DescribeCommand describe = new DescribeCommand(ComponentRegistry.standalone());

    /** A catalog of one configurable class, as a model bundle publishes its trainers, encoders and heads. */
    private static final ConfigurableCatalog CATALOG = () -> List.of(
            ConfigurableDescriptor.of(Settings.class, "test settings", "Settings of every shape."));

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
                  gridRequired         false
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
    void aConfigurableClassOfACatalogIsDescribedByItsSimpleOrFullName() {
        describe.bindCatalog(CATALOG);
        Output result = Output.of(describe, "Settings");
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("""
                Settings (test settings)
                  Settings of every shape.
                  implementation:  %s

                Properties:
                  NAME     TYPE    DEFAULT     VALID           DESCRIPTION
                  count    int     3           any             How many, 1 to 100.
                  mode     Mode    FAST        FAST | CAREFUL  How.
                  options  Map     {}          any             Named options.
                  names    List    []          any             Names.
                  next     Next    (built-in)  any             The settings used next.
                  label    String  (unset)     any             A label, unset by default.
                """.formatted(Settings.class.getName()));
        assertThat(Output.of(describe, Settings.class.getName()).out()).isEqualTo(result.out());

        describe.unbindCatalog(CATALOG);
        assertThat(Output.of(describe, "Settings").exitCode()).isEqualTo(1);
    }

    @Test
    void jsonOfAConfigurableClassIsItsDescriptor() throws Exception {
        describe.bindCatalog(CATALOG);
        Map<String, Object> d = object(JsonTree.parse(Output.of(describe, "Settings", "--json").out()));
        assertThat(d).containsEntry("kind", "configurable").containsEntry("name", "Settings")
                .containsEntry("role", "test settings").containsEntry("summary", "Settings of every shape.")
                .containsEntry("implementation", Settings.class.getName());
        Map<String, Object> mode = object(array(d.get("hyperparameters")).get(1));
        assertThat(mode).containsEntry("name", "mode").containsEntry("default", "FAST")
                .containsEntry("choices", List.of("FAST", "CAREFUL"));
    }

    @Test
    void anUnknownNameSuggestsComponentsAndConfigurableClasses() {
        describe.bindCatalog(CATALOG);
        Output result = Output.of(describe, "Setings");
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).isEqualTo("describe: unknown component 'Setings'; did you mean: Settings?\n");
        assertThat(Output.of(describe, "shfit").err()).contains("did you mean: shift?");
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
