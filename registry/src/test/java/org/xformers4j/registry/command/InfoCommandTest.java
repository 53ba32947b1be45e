package org.xformers4j.registry.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xformers4j.registry.command.JsonTree.array;
import static org.xformers4j.registry.command.JsonTree.object;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.xformers4j.registry.ComponentRegistry;
import org.xformers4j.registry.fixture.ShiftEncoding;

class InfoCommandTest {

    private final InfoCommand info = new InfoCommand(ComponentRegistry.standalone());

    @Test
    void textListsBackendsThenComponentsByKind() {
        Output result = Output.of(info);
        assertThat(result.exitCode()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).startsWith("Compute backends:\n  NAME  AVAILABLE  DESCRIPTION\n  cpu   yes  ")
                .contains("""

                        Attention components:
                          NAME          SUMMARY
                          scaled-value  Returns the values times a factor.

                        Positional components:
                          NAME   SUMMARY
                          shift  Adds a constant to the embeddings.

                        Decoding components:
                          NAME  SUMMARY
                          echo  Repeats the last prompt token.
                        """);
    }

    @Test
    void textSaysWhichBackendIsUnavailableAndWhyAndWhichKindIsEmpty() {
        String text = InfoText.render(List.of(new BackendStatus("cpu", true, "scalar, 2 threads"),
                new BackendStatus("cuda", false, "no CUDA driver (libcuda.so.1 not found)")),
                List.of(new ShiftEncoding.Provider().descriptor()));
        assertThat(text).isEqualTo("""
                Compute backends:
                  NAME  AVAILABLE  DESCRIPTION
                  cpu   yes        scalar, 2 threads
                  cuda  no         no CUDA driver (libcuda.so.1 not found)

                Attention components:
                  (none)

                Positional components:
                  NAME   SUMMARY
                  shift  Adds a constant to the embeddings.

                Decoding components:
                  (none)
                """);
    }

    @Test
    void jsonIsOneObjectWithBackendsAndComponentsSortedByKindThenName() throws Exception {
        Output result = Output.of(info, "--json");
        assertThat(result.exitCode()).isZero();
        Map<String, Object> root = object(JsonTree.parse(result.out()));
        assertThat(root).containsOnlyKeys("backends", "components");

        Map<String, Object> cpu = object(array(root.get("backends")).stream()
                .filter(b -> object(b).get("name").equals("cpu")).findFirst().orElseThrow());
        assertThat(cpu).containsOnlyKeys("name", "available", "description").containsEntry("available", true);
        assertThat((String) cpu.get("description")).isNotBlank();

        List<Object> components = array(root.get("components"));
        assertThat(components).extracting(c -> object(c).get("kind") + ":" + object(c).get("name"))
                .containsExactly("attention:scaled-value", "positional:shift", "decoding:echo");
        Map<String, Object> scaled = object(components.get(0));
        assertThat(scaled).containsOnlyKeys("kind", "name", "summary", "reference", "hyperparameters", "capabilities")
                .containsEntry("summary", "Returns the values times a factor.")
                .containsEntry("reference", "None, 2026, registry test fixture");
        Map<String, Object> factor = object(array(scaled.get("hyperparameters")).get(0));
        assertThat(factor).containsEntry("name", "factor").containsEntry("type", "float")
                .containsEntry("default", "1.0").containsEntry("range", "(0, 10]").containsEntry("mandatory", false)
                .containsEntry("description", "Factor the values are multiplied by.")
                .containsEntry("choices", List.of());
        assertThat(object(scaled.get("capabilities"))).containsEntry("causal", false).containsEntry("length", "NONE")
                .containsEntry("time", "O(N)");
    }

    @Test
    void unexpectedArgumentIsAUsageError() {
        Output result = Output.of(info, "--yaml");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.out()).isEmpty();
        assertThat(result.err()).isEqualTo("info: unexpected argument '--yaml'\nusage: xformers4j info [--json]\n");
    }

    @Test
    void asAFunctionItWritesToSystemOut() {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = info.apply(new String[0]);
        } finally {
            System.setOut(original);
        }
        assertThat(code).isZero();
        assertThat(captured.toString(StandardCharsets.UTF_8)).startsWith("Compute backends:").contains("scaled-value");
    }
}
